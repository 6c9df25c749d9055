/** True for anything but a string with a visible character (a regex test: no trimmed copy). */
export function isBlank(value: unknown): boolean {
  return typeof value !== "string" || !/\S/.test(value);
}
