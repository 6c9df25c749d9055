import { el, type Child } from "./element.js";

/** What a typed confirmation asks. */
export interface TypedConfirmationOptions {
  /** Id of the confirm button; the dialog is `${id}-dialog`, its text `${id}-text`. */
  id: string;
  /** The dialog's heading, e.g. "Live run on DU1000001". */
  title: string;
  /** What will happen, in a sentence naming what it acts on (the account and the mode). */
  text: string;
  /** More to read before confirming (a plan, the orders); default none. */
  body?: Child;
  /** What the person must type in full: the account id, or the channel, acted on. */
  typed: string;
  /** The confirm button's label, e.g. "Place orders on DU1000001". */
  buttonLabel: string;
  /** The button stays disabled until this settles too (the body loading); default none. */
  ready?: Promise<unknown>;
}

/**
 * Asks a person to confirm an action with effects at the broker, or one that cannot be undone:
 * the dialog says what happens, shows `body`, and the button stays disabled until `typed` (the
 * account id, the channel) is typed in full (and `ready` settled). Resolves true only on that button; Cancel or Escape resolve false.
 */
export function typedConfirmation(options: TypedConfirmationOptions): Promise<boolean> {
  const { id, typed } = options;
  return new Promise((resolve) => {
    let loaded = options.ready === undefined;
    const input = el("input", { id: "confirm-account-input", autocomplete: "off" });
    const confirm = el(
      "button",
      { type: "submit", class: "danger", id, disabled: true },
      options.buttonLabel,
    );
    const update = () => {
      confirm.disabled = !loaded || input.value.trim() !== typed;
    };
    input.addEventListener("input", update);
    void options.ready?.finally(() => {
      loaded = true;
      update();
    });
    const form = el(
      "form",
      {},
      el("h2", {}, options.title),
      el("p", { id: `${id}-text` }, options.text),
      options.body,
      el("label", { for: "confirm-account-input" }, `Type ${typed} to confirm`),
      input,
      el(
        "div",
        { class: "actions" },
        el("button", { type: "button", onclick: () => finish(false) }, "Cancel"),
        confirm,
      ),
    );
    const dialog = el("dialog", { id: `${id}-dialog` }, form);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!confirm.disabled) finish(true);
    });
    dialog.addEventListener("cancel", () => finish(false));
    function finish(confirmed: boolean): void {
      dialog.close();
      dialog.remove();
      resolve(confirmed);
    }
    document.body.append(dialog);
    dialog.showModal();
  });
}
