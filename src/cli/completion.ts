import { Command, type Option } from 'commander';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

/** `baton completion bash|zsh|fish`: a completion script for the subcommands and their flags, made from the command tree itself. */
export function completionCommand(program: () => Command): Command {
  return new Command('completion')
    .description('Print a shell completion script for baton (subcommands and their flags).')
    .addArgument(new Command().createArgument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .addHelpText(
      'after',
      `
Examples:
  source <(baton completion bash)                      # this shell
  baton completion bash > /etc/bash_completion.d/baton
  baton completion zsh > "\${fpath[1]}/_baton"          # zsh (through bashcompinit)
  baton completion fish > ~/.config/fish/completions/baton.fish`,
    )
    .action((shell: Shell) => {
      process.stdout.write(shell === 'fish' ? fishScript(program()) : completionScript(program(), shell));
    });
}

/** A fish single-quoted string. */
function fishQuote(text: string): string {
  return `'${text.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/** fish `complete` lines for a command's flags, offered when `condition` holds. */
function fishFlags(command: Command, condition: string): string[] {
  return command.options.map((o: Option) => {
    const parts = ['complete -c baton -n', fishQuote(condition)];
    if (o.long) parts.push('-l', o.long.replace(/^--/, ''));
    if (o.short) parts.push('-s', o.short.replace(/^-/, ''));
    if (o.argChoices) parts.push('-x -a', fishQuote(o.argChoices.join(' ')));
    else if (o.required || o.optional) parts.push('-r');
    parts.push('-d', fishQuote(o.description));
    return parts.join(' ');
  });
}

/** Pure: the fish script for `program`: its subcommands (and theirs, one level down) with descriptions, and each one's flags. */
export function fishScript(program: Command): string {
  const lines = ['# baton completion for fish: baton completion fish > ~/.config/fish/completions/baton.fish'];
  lines.push(...fishFlags(program, '__fish_use_subcommand'));
  for (const c of program.commands) {
    const on = `__fish_seen_subcommand_from ${c.name()}`;
    lines.push(`complete -c baton -n __fish_use_subcommand -f -a ${c.name()} -d ${fishQuote(c.description())}`);
    for (const n of c.commands) lines.push(`complete -c baton -n ${fishQuote(on)} -f -a ${n.name()} -d ${fishQuote(n.description())}`);
    lines.push(...fishFlags(c, on));
  }
  return `${lines.join('\n')}\n`;
}

/** Pure: the bash (or zsh) script for `program`. */
export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  const flagsOf = (c: Command): string[] => c.options.flatMap((o: Option) => [o.long, o.short].filter((f): f is string => Boolean(f)));
  const subcommands = program.commands.map((c) => c.name());
  const cases = program.commands
    .map((c) => {
      const nested = c.commands.map((n) => n.name());
      return `    ${c.name()}) words="${[...nested, ...flagsOf(c), '--help'].join(' ')}" ;;`;
    })
    .join('\n');
  const body = `_baton() {
  local cur=\${COMP_WORDS[COMP_CWORD]} words
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${subcommands.join(' ')} --help --version" -- "$cur"))
    return
  fi
  case \${COMP_WORDS[1]} in
${cases}
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _baton baton
`;
  return shell === 'zsh' ? `autoload -U +X bashcompinit && bashcompinit\n${body}` : body;
}
