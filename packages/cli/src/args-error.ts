/**
 * What is wrong with a command line that parseArgs refused, naming the option. parseArgs'
 * own message is not shown: it quotes arguments, and a value could be a secret typed in the
 * wrong place, so only an option name, or a value that is a plain number, is repeated.
 */
export function describeArgsError(code: string, message: string, argv: readonly string[]): string {
  const option = /^(?:Unknown option|Option) '(-{1,2}[A-Za-z0-9][A-Za-z0-9-]{0,39})[' ]/.exec(
    message,
  )?.[1];
  const named = option ?? 'an option';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return option === undefined
        ? 'unknown option (see --help)'
        : `unknown option ${option} (see --help)`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      if (message.includes('does not take an argument'))
        return `${named} takes no value (see --help)`;
      // "ambiguous": the next argument starts with a dash, e.g. a negative number.
      const next = option === undefined ? undefined : argv[argv.indexOf(option) + 1];
      if (message.includes('ambiguous') && next !== undefined && /^-\d[\d.]*$/.test(next)) {
        return `${option} ${next}: the value is invalid (see --help)`;
      }
      return `${named} is missing its value (see --help)`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return 'unexpected argument (see --help)';
    default:
      return 'invalid arguments (see --help)';
  }
}
