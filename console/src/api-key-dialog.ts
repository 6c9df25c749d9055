import { el } from "./element.js";

/**
 * Asks for the API key in a modal dialog; resolves with the key, or undefined when the person
 * cancels. The field is a password field that browsers are told not to remember.
 */
export function askForApiKey(problem: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const input = el("input", {
      id: "api-key-input",
      type: "password",
      autocomplete: "off",
      required: true,
    });
    const form = el(
      "form",
      {},
      el("h2", {}, "API key"),
      el("p", { id: "api-key-problem" }, problem),
      el(
        "p",
        { class: "muted" },
        "It is sent as a bearer token and kept only until this browser session ends.",
      ),
      el("label", { for: "api-key-input" }, "Key"),
      input,
      el(
        "div",
        { class: "actions" },
        el("button", { type: "button", onclick: () => finish(undefined) }, "Cancel"),
        el("button", { type: "submit", id: "api-key-submit" }, "Use key"),
      ),
    );
    const dialog = el("dialog", { id: "api-key-dialog" }, form);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      finish(input.value.trim());
    });
    dialog.addEventListener("cancel", () => finish(undefined));
    function finish(key: string | undefined): void {
      dialog.close();
      dialog.remove();
      resolve(key === "" ? undefined : key);
    }
    document.body.append(dialog);
    dialog.showModal();
  });
}
