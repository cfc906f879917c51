import type { Command } from 'commander';

/** Every command path ("tessera", "tessera keys", …) and the words that may follow it. */
function completions(command: Command, path: string, into: Map<string, string[]>): Map<string, string[]> {
  const words = [...command.commands.map((c) => c.name()), ...command.options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined)), '--help'];
  into.set(path, words);
  for (const sub of command.commands) completions(sub, `${path} ${sub.name()}`, into);
  return into;
}

/**
 * A bash completion script for the command tree (zsh loads it through bashcompinit): the
 * subcommands and options that may follow the command words typed so far. Option values
 * (`--name ci-bot`) are skipped over, as they name no command.
 */
export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  const name = program.name();
  const fn = `_${name.replace(/\W/g, '_')}_complete`;
  const table = [...completions(program, name, new Map())].map(([path, words]) => `    [${JSON.stringify(path)}]=${JSON.stringify(words.join(' '))}`).join('\n');
  const zshPrelude = shell === 'zsh' ? 'autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n' : '';
  return `# ${name} completion for ${shell}: add \`source <(${name} completion ${shell})\` to your ~/.${shell}rc
${zshPrelude}${fn}() {
  local -A known=(
${table}
  )
  local at=${JSON.stringify(name)} i next
  for ((i = 1; i < COMP_CWORD; i++)); do
    next="$at \${COMP_WORDS[i]}"
    [[ -n "\${known[$next]+set}" ]] && at="$next"
  done
  COMPREPLY=($(compgen -W "\${known[$at]}" -- "\${COMP_WORDS[COMP_CWORD]}"))
}
complete -F ${fn} ${name}
`;
}
