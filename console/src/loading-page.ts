import { el, type Child } from "./element.js";
import { errorNotice } from "./notice.js";
import type { ViewContext } from "./view-context.js";

/** The fixed top of a page. */
export interface PageHeading {
  /** Id of the page's section, for links and tests. */
  id: string;
  title: string;
  /** Shown above the title, e.g. the account's navigation. */
  nav?: HTMLElement;
}

/**
 * A page that shows "Loading…" until `load` resolves with its content, or the error when it
 * fails. Nothing is shown once the person has left the page.
 */
export function loadingPage(
  context: ViewContext,
  heading: PageHeading,
  load: () => Promise<Child[]>,
): HTMLElement {
  const top = [heading.nav, el("h1", {}, heading.title)];
  const section = el(
    "section",
    { id: heading.id, "aria-busy": "true" },
    ...top,
    el("p", { class: "muted" }, "Loading…"),
  );
  load()
    .then((content) => section.replaceChildren(...withoutEmpty([...top, ...content])))
    .catch((error: unknown) => {
      if (!context.signal.aborted) {
        section.replaceChildren(...withoutEmpty(top), errorNotice(error, context.apiUrl));
      }
    })
    .finally(() => section.setAttribute("aria-busy", "false"));
  return section;
}

function withoutEmpty(children: Child[]): (Node | string)[] {
  return children.flatMap((child) =>
    child === null || child === undefined || child === false
      ? []
      : [child instanceof Node ? child : String(child)],
  );
}
