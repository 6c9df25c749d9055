// "Preview rebalance": a dry run, showing the plan it would trade and the weights it would reach.
import { accountNav } from "./account-nav.js";
import { el } from "./element.js";
import { errorNotice } from "./notice.js";
import { planPreview } from "./plan-preview.js";
import type { ViewContext } from "./view-context.js";

/** The preview page: a button that asks for a dry run and shows its plan. */
export function previewView(context: ViewContext, accountId: string): HTMLElement {
  const result = el("div", { id: "preview-result" });
  const button = el("button", { type: "button", id: "preview-button" }, "Preview rebalance");
  button.addEventListener("click", () => {
    button.disabled = true;
    result.replaceChildren(el("p", { class: "muted" }, "Planning…"));
    planPreview(context, accountId)
      .then((shown) => result.replaceChildren(...shown))
      .catch((error: unknown) => result.replaceChildren(errorNotice(error, context.apiUrl)))
      .finally(() => (button.disabled = false));
  });
  return el(
    "section",
    { id: "preview-view" },
    accountNav(accountId, "preview"),
    el("h1", {}, `Preview rebalance of ${accountId}`),
    el(
      "p",
      { class: "muted" },
      "A dry run: fetches the targets, reads the account and plans the orders. Nothing is placed.",
    ),
    button,
    result,
  );
}
