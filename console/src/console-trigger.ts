/** The Trigger of every run started from the console, so that run history shows where it came from. */
export const consoleTrigger = { source: "console" } as const;
