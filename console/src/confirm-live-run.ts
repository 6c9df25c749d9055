import { el } from "./element.js";
import { errorNotice } from "./notice.js";
import { planPreview } from "./plan-preview.js";
import { typedConfirmation } from "./typed-confirmation.js";
import type { ViewContext } from "./view-context.js";

/** What the confirmation names. */
export interface LiveRunSubject {
  accountId: string;
  /** The account's type, "paper" or "live". */
  accountType: string;
  /** The service's TRADING_MODE, "paper" or "live". */
  tradingMode: string;
}

/**
 * Asks a person to confirm a live run, showing first what it would trade: a fresh preview (a dry
 * run) of the plan is made as the dialog opens and shown in it; the button stays disabled until
 * the preview is in and the account id is typed in full. Resolves true only on that button.
 */
export function confirmLiveRun(context: ViewContext, subject: LiveRunSubject): Promise<boolean> {
  const { accountId, accountType, tradingMode } = subject;
  const preview = el(
    "div",
    { id: "confirm-live-run-preview", "aria-busy": "true" },
    el("p", { class: "muted" }, "Previewing the plan (a dry run)…"),
  );
  const ready = planPreview(context, accountId)
    .then((shown) => preview.replaceChildren(...shown))
    .catch((error: unknown) => preview.replaceChildren(errorNotice(error, context.apiUrl)))
    .finally(() => preview.setAttribute("aria-busy", "false"));
  return typedConfirmation({
    id: "confirm-live-run",
    title: `Live run on ${accountId}`,
    text:
      `Mode: live. This places orders at the broker for account ${accountId} ` +
      `(a ${accountType} account; the service trades ${tradingMode}). The plan below is a ` +
      "preview made now; the live run plans again from the account as it is when it starts.",
    body: preview,
    typed: accountId,
    buttonLabel: `Place orders on ${accountId}`,
    ready,
  });
}
