import { el } from "./element.js";

/** What the confirmation names. */
export interface LiveRunSubject {
  accountId: string;
  /** The account's type, "paper" or "live". */
  accountType: string;
  /** The service's TRADING_MODE, "paper" or "live". */
  tradingMode: string;
}

/**
 * Asks a person to confirm a live run: the dialog names the account and the mode, and the
 * button stays disabled until the account id is typed in full. Resolves true only on that button.
 */
export function confirmLiveRun(subject: LiveRunSubject): Promise<boolean> {
  const { accountId, accountType, tradingMode } = subject;
  return new Promise((resolve) => {
    const input = el("input", { id: "confirm-account-input", autocomplete: "off" });
    const start = el(
      "button",
      { type: "submit", class: "danger", id: "confirm-live-run", disabled: true },
      `Place orders on ${accountId}`,
    );
    input.addEventListener("input", () => {
      start.disabled = input.value.trim() !== accountId;
    });
    const form = el(
      "form",
      {},
      el("h2", {}, `Live run on ${accountId}`),
      el(
        "p",
        { id: "confirm-live-run-text" },
        `Mode: live. This places orders at the broker for account ${accountId} ` +
          `(a ${accountType} account; the service trades ${tradingMode}).`,
      ),
      el("label", { for: "confirm-account-input" }, `Type ${accountId} to confirm`),
      input,
      el(
        "div",
        { class: "actions" },
        el("button", { type: "button", onclick: () => finish(false) }, "Cancel"),
        start,
      ),
    );
    const dialog = el("dialog", { id: "confirm-live-run-dialog" }, form);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      finish(input.value.trim() === accountId);
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
