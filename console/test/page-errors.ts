import type { Page } from "playwright-core";

/** Collects the page's uncaught exceptions, to fail a test that caused one. */
export function watchPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  return errors;
}
