import { Command, type Option } from 'commander';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

/** What `baton __complete KIND` prints: ids a command's argument or flag takes. */
export const ID_KINDS = ['jobs', 'workers'] as const;
export type IdKind = (typeof ID_KINDS)[number];

/** The hidden subcommand the scripts call for ids (see complete-ids.ts); never offered itself. */
export const COMPLETE_COMMAND = '__complete';

/** `baton completion bash|zsh|fish`: a completion script for the subcommands and their flags, made from the command tree itself. */
export function completionCommand(program: () => Command): Command {
  return new Command('completion')
    .description('Print a shell completion script for baton (subcommands, flags, and job and worker ids).')
    .addArgument(new Command().createArgument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .addHelpText(
      'after',
      `
Job and worker ids are asked of the scheduler as you press Tab (--addr and --token on the
line, else BATON_ADDR and BATON_TOKEN), at most 2 seconds; the newest 100 jobs are offered.

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

/** The commands offered: all but the hidden id helper. */
function visible(command: Command): Command[] {
  return command.commands.filter((c) => c.name() !== COMPLETE_COMMAND);
}

/** Pure: the ids a command's first argument takes, by its name (`<job>`, `<worker>`). */
export function argumentKind(command: Command): IdKind | undefined {
  const name = command.registeredArguments[0]?.name();
  return name === 'job' ? 'jobs' : name === 'worker' ? 'workers' : undefined;
}

/** Pure: the ids an option's value is (`-w, --worker <id>`, `--job <id>`). */
export function optionKind(o: Option): IdKind | undefined {
  if (!o.required && !o.optional) return undefined;
  return o.long === '--worker' ? 'workers' : o.long === '--job' ? 'jobs' : undefined;
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
    else if (optionKind(o)) parts.push('-x -a', fishQuote(`(__baton_ids ${optionKind(o)})`));
    else if (o.required || o.optional) parts.push('-r');
    parts.push('-d', fishQuote(o.description));
    return parts.join(' ');
  });
}

/** fish: `baton __complete KIND` with the --addr and --token typed on the line. */
const FISH_IDS = `function __baton_ids
  set -l words (commandline -opc)
  set -l pass
  for i in (seq (count $words))
    if contains -- $words[$i] --addr --token; and test $i -lt (count $words)
      set pass $pass $words[$i] $words[(math $i + 1)]
    end
  end
  baton ${COMPLETE_COMMAND} $argv[1] $pass 2>/dev/null
end`;

/** Pure: the fish script for `program`: its subcommands (and theirs, one level down) with descriptions, each one's flags, and ids for their arguments. */
export function fishScript(program: Command): string {
  const lines = ['# baton completion for fish: baton completion fish > ~/.config/fish/completions/baton.fish', FISH_IDS];
  lines.push(...fishFlags(program, '__fish_use_subcommand'));
  for (const c of visible(program)) {
    const on = `__fish_seen_subcommand_from ${c.name()}`;
    lines.push(`complete -c baton -n __fish_use_subcommand -f -a ${c.name()} -d ${fishQuote(c.description())}`);
    const kind = argumentKind(c);
    if (kind) lines.push(`complete -c baton -n ${fishQuote(on)} -f -a ${fishQuote(`(__baton_ids ${kind})`)}`);
    for (const n of c.commands) {
      lines.push(`complete -c baton -n ${fishQuote(on)} -f -a ${n.name()} -d ${fishQuote(n.description())}`);
      const nestedKind = argumentKind(n);
      if (nestedKind) lines.push(`complete -c baton -n ${fishQuote(`${on}; and __fish_seen_subcommand_from ${n.name()}`)} -f -a ${fishQuote(`(__baton_ids ${nestedKind})`)}`);
    }
    lines.push(...fishFlags(c, on));
  }
  return `${lines.join('\n')}\n`;
}

/** Every flag of `commands` that takes a value, long and short: the words after them are not subcommands or arguments. */
function valuedFlags(commands: readonly Command[]): string[] {
  const flags = new Set<string>();
  for (const c of commands) {
    for (const o of c.options) if (o.required || o.optional) for (const f of [o.long, o.short]) if (f) flags.add(f);
  }
  return [...flags].sort();
}

/** Pure: the bash (or zsh) script for `program`. */
export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  const flagsOf = (c: Command): string[] => c.options.flatMap((o: Option) => [o.long, o.short].filter((f): f is string => Boolean(f)));
  const commands = visible(program);
  const all = [program, ...commands, ...commands.flatMap((c) => c.commands)];
  const flagsOfKind = (kind: IdKind): string =>
    [...new Set(all.flatMap((c) => c.options.filter((o) => optionKind(o) === kind).flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f)))))].join(' | ');
  const idFlags = ID_KINDS.filter((kind) => flagsOfKind(kind) !== '')
    .map((kind) => `    ${flagsOfKind(kind)}) COMPREPLY=($(compgen -W "$(_baton_ids ${kind})" -- "$cur")); return ;;`)
    .join('\n');
  const branch = (c: Command): string => {
    const kind = argumentKind(c);
    return `words="${[...flagsOf(c), '--help'].join(' ')}"${kind ? `; kind=${kind}` : ''}`;
  };
  const cases = commands
    .map((c) => {
      if (c.commands.length === 0) return `    ${c.name()}) ${branch(c)} ;;`;
      const nested = c.commands.map((n) => `        ${n.name()}) ${branch(n)} ;;`).join('\n');
      const names = [...c.commands.map((n) => n.name()), ...flagsOf(c), '--help'].join(' ');
      return `    ${c.name()})\n      case \${pos[1]} in\n${nested}\n        *) words="${names}" ;;\n      esac ;;`;
    })
    .join('\n');
  const body = `# The --addr and --token typed on the line, for \`baton ${COMPLETE_COMMAND}\`.
_baton_ids() {
  local i pass=()
  for ((i = 1; i < COMP_CWORD - 1; i++)); do
    case \${COMP_WORDS[i]} in --addr | --token) pass+=("\${COMP_WORDS[i]}" "\${COMP_WORDS[i + 1]}") ;; esac
  done
  baton ${COMPLETE_COMMAND} "$1" "\${pass[@]}" 2>/dev/null
}
_baton() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD - 1]} words="" kind="" i w pos=()
  # The subcommand (and its own) are the first words that are neither flags nor a flag's value.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    case $w in
      --) return ;;
      -*) case " ${valuedFlags(all).join(' ')} " in *" $w "*) ((i++)) ;; esac ;;
      *) pos+=("$w") ;;
    esac
  done
  case $prev in
${idFlags}
  esac
  if [ \${#pos[@]} -eq 0 ]; then
    COMPREPLY=($(compgen -W "${commands.map((c) => c.name()).join(' ')} ${flagsOf(program).join(' ')} --help" -- "$cur"))
    return
  fi
  case \${pos[0]} in
${cases}
  esac
  # An id where the command takes one, its flags once a "-" is typed.
  if [ -n "$kind" ] && [[ $cur != -* ]]; then words=$(_baton_ids "$kind"); fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _baton baton
`;
  return shell === 'zsh' ? `autoload -U +X bashcompinit && bashcompinit\n${body}` : body;
}
