/** Bad input: reported as one line on stderr, exit code 2, before anything changes. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
