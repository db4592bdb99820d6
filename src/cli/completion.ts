import { Command, type Option } from 'commander';

/** `baton completion bash|zsh`: a completion script for the subcommands and their flags, made from the command tree itself. */
export function completionCommand(program: () => Command): Command {
  return new Command('completion')
    .description('Print a shell completion script for baton (subcommands and their flags).')
    .addArgument(new Command().createArgument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .addHelpText(
      'after',
      `
Examples:
  source <(baton completion bash)                      # this shell
  baton completion bash > /etc/bash_completion.d/baton
  baton completion zsh > "\${fpath[1]}/_baton"          # zsh (through bashcompinit)`,
    )
    .action((shell: 'bash' | 'zsh') => {
      process.stdout.write(completionScript(program(), shell));
    });
}

/** Pure: the script for `program`. */
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
