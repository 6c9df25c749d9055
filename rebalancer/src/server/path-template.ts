// Path templates of google.api.HttpRule (google/api/http.proto):
//
//   Template = "/" Segments [ Verb ] ;
//   Segments = Segment { "/" Segment } ;
//   Segment  = "*" | "**" | LITERAL | Variable ;
//   Variable = "{" FieldPath [ "=" Segments ] "}" ;
//   FieldPath = IDENT { "." IDENT } ;
//   Verb     = ":" LITERAL ;
import { Code, ConnectError } from "@connectrpc/connect";

/** A compiled path template. */
export interface PathTemplate {
  /** The template as written, e.g. "/accounts/{account_id}/positions". */
  readonly template: string;
  /** Field paths bound by the variables, in order, e.g. ["account_id"]. */
  readonly variables: readonly string[];
  /**
   * The variables' percent-decoded values, by field path, when `path` (without query) matches;
   * undefined otherwise.
   */
  match(path: string): Map<string, string> | undefined;
}

/** Compiles a template; throws an Error naming the problem when it is malformed. */
export function compilePathTemplate(template: string): PathTemplate {
  const parser = new TemplateParser(template);
  const { pattern, variables, multiSegment } = parser.parse();
  const regexp = new RegExp(`^${pattern}$`);
  return {
    template,
    variables: variables,
    match(path) {
      const found = regexp.exec(path);
      if (found === null) {
        return undefined;
      }
      const values = new Map<string, string>();
      variables.forEach((field, i) => {
        values.set(field, decode(found[i + 1] ?? "", multiSegment[i] ?? false));
      });
      return values;
    },
  };
}

/** Single-segment values decode fully; multi-segment ones keep their encoded slashes. */
function decode(value: string, multiSegment: boolean): string {
  try {
    return multiSegment ? decodeURI(value) : decodeURIComponent(value);
  } catch {
    throw new ConnectError(`malformed percent-encoding in "${value}"`, Code.InvalidArgument);
  }
}

class TemplateParser {
  private position = 0;
  private readonly variables: string[] = [];
  private readonly multiSegment: boolean[] = [];

  constructor(private readonly template: string) {}

  parse(): { pattern: string; variables: string[]; multiSegment: boolean[] } {
    this.expect("/");
    let pattern = `/${this.segments(false)}`;
    if (this.peek() === ":") {
      this.position++;
      pattern += `:${escapeRegExp(this.literal())}`;
    }
    if (this.position < this.template.length) {
      this.fail(`unexpected "${this.template.slice(this.position)}"`);
    }
    return { pattern, variables: this.variables, multiSegment: this.multiSegment };
  }

  private segments(inVariable: boolean): string {
    const parts = [this.segment(inVariable)];
    while (this.peek() === "/") {
      this.position++;
      parts.push(this.segment(inVariable));
    }
    return parts.join("/");
  }

  private segment(inVariable: boolean): string {
    if (this.template.startsWith("**", this.position)) {
      this.position += 2;
      return ".+";
    }
    if (this.peek() === "*") {
      this.position++;
      return "[^/]+";
    }
    if (this.peek() === "{") {
      if (inVariable) {
        this.fail("variables cannot nest");
      }
      return this.variable();
    }
    return escapeRegExp(this.literal());
  }

  private variable(): string {
    this.expect("{");
    const field = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(
      this.template.slice(this.position),
    )?.[0];
    if (field === undefined) {
      this.fail("expected a field path after {");
    }
    this.position += field.length;
    let pattern = "[^/]+";
    if (this.peek() === "=") {
      this.position++;
      pattern = this.segments(true);
    }
    this.expect("}");
    this.variables.push(field);
    this.multiSegment.push(pattern !== "[^/]+");
    return `(${pattern})`;
  }

  private literal(): string {
    const literal = /^[^/{}*:]+/.exec(this.template.slice(this.position))?.[0];
    if (literal === undefined) {
      this.fail("expected a literal segment");
    }
    this.position += literal.length;
    return literal;
  }

  private peek(): string | undefined {
    return this.template[this.position];
  }

  private expect(char: string): void {
    if (this.peek() !== char) {
      this.fail(`expected "${char}"`);
    }
    this.position++;
  }

  private fail(problem: string): never {
    throw new Error(`path template "${this.template}": ${problem} at position ${this.position}`);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
