import { getOption } from "@bufbuild/protobuf";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { http } from "@mesh/proto/google/api/annotations";
import type { HttpRule } from "@mesh/proto/google/api/http";
import { fieldPath } from "./field-path.js";
import { compilePathTemplate } from "./path-template.js";
import type { PathTemplate } from "./path-template.js";

/** One REST route: an HTTP method and path template bound to an RPC. */
export interface RestRoute {
  /** The RPC the route calls. */
  readonly method: DescMethod;
  /** HTTP method, upper case, e.g. "GET". */
  readonly httpMethod: string;
  /** The compiled path template. */
  readonly path: PathTemplate;
  /** Where the JSON body goes: "*" the whole request, a field name that field, "" nowhere. */
  readonly body: string;
}

/**
 * The routes declared by the `google.api.http` annotations (and their additional_bindings) of
 * every method of a service. Throws at start-up when an annotation is malformed, names a field
 * the request lacks, or is put on a client-streaming method (REST cannot carry a stream in).
 */
export function restRoutes(service: DescService): RestRoute[] {
  const routes: RestRoute[] = [];
  for (const method of service.methods) {
    const rule = getOption(method, http);
    if (rule.pattern.case === undefined) {
      continue;
    }
    if (method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming") {
      throw new Error(`${method.parent.typeName}.${method.name}: REST cannot stream requests`);
    }
    for (const binding of [rule, ...rule.additionalBindings]) {
      routes.push(route(method, binding));
    }
  }
  return routes;
}

function route(method: DescMethod, rule: HttpRule): RestRoute {
  const where = `${method.parent.typeName}.${method.name}`;
  let httpMethod: string;
  let template: string;
  switch (rule.pattern.case) {
    case "custom":
      httpMethod = rule.pattern.value.kind.toUpperCase();
      template = rule.pattern.value.path;
      break;
    case undefined:
      throw new Error(`${where}: an additional binding has no HTTP method`);
    default:
      httpMethod = rule.pattern.case.toUpperCase();
      template = rule.pattern.value;
  }
  const path = compilePathTemplate(template);
  for (const variable of path.variables) {
    if (fieldPath(method.input, variable) === undefined) {
      throw new Error(`${where}: "${template}" binds ${variable}, which the request lacks`);
    }
  }
  if (rule.body !== "" && rule.body !== "*" && fieldPath(method.input, rule.body) === undefined) {
    throw new Error(`${where}: the body goes to ${rule.body}, which the request lacks`);
  }
  return { method, httpMethod, path, body: rule.body };
}
