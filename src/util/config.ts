/** The only reader of SUEDE_* environment variables (docs/CLI.md lists them). */
export const config = {
  /** Passphrase for scripts and CI; a prompt is used when unset. */
  passphrase: (): string | undefined => process.env.SUEDE_PASSPHRASE,
  /** New passphrase for `key add` and `key passwd` in scripts. */
  newPassphrase: (): string | undefined => process.env.SUEDE_NEW_PASSPHRASE,
  /** Print stack traces of internal errors. */
  debug: (): boolean => process.env.SUEDE_DEBUG === "1",
};
