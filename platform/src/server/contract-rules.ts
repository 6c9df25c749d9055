// The field rules written in the contract (protovalidate's `buf.validate.field` options) applied
// to every request on every protocol, REST included since it calls through the same router: one
// place where ids, lengths, ranges and formats are checked, instead of checks in each handler.
import type { DescMessage, Message } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createValidator } from "@bufbuild/protovalidate";

/** An interceptor refusing a request that breaks a rule of its contract as invalid_argument. */
export function createContractRules(): Interceptor {
  const validator = createValidator();
  const check = (schema: DescMessage, message: Message): void => {
    const result = validator.validate(schema, message);
    if (result.kind === "valid") return;
    if (result.kind === "invalid") {
      // "account_id: value does not match regex pattern `^[A-Za-z0-9]+$`; …"
      throw new ConnectError(
        result.error.violations.map((v) => v.toString()).join("; "),
        Code.InvalidArgument,
      );
    }
    // A rule that does not compile is the contract's fault, not the caller's.
    throw new ConnectError(
      `request rules could not be checked: ${result.error.message}`,
      Code.Internal,
    );
  };
  return (next) => async (req) => {
    if (!req.stream) {
      check(req.method.input, req.message);
      return next(req);
    }
    const messages = req.message;
    const schema = req.method.input;
    async function* checked() {
      for await (const message of messages) {
        check(schema, message);
        yield message;
      }
    }
    return next({ ...req, message: checked() });
  };
}
