import { el } from "./element.js";
import { errorMessage } from "./error-message.js";

/** A boxed message; kind "error" and "success" colour it. */
export function notice(text: string, kind: "info" | "error" | "success" = "info"): HTMLElement {
  return el("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

/** A failed call, said for a person. */
export function errorNotice(error: unknown, apiUrl: string): HTMLElement {
  return notice(errorMessage(error, apiUrl), "error");
}
