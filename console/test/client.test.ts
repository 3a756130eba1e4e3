import { describe, expect, it } from "vitest";
import { errorOf } from "../src/api/client";

describe("errors the API answers", () => {
  it("says what the server said, where, with its code", () => {
    const error = errorOf(403, {
      errors: [{ message: "needs the steward scope", path: ["merge"], extensions: { code: "FORBIDDEN" } }],
      data: null,
    });
    expect(error?.message).toBe("needs the steward scope");
    expect(error?.forbidden).toBe(true);
    expect(error?.unauthenticated).toBe(false);
  });
  it("reads a 401 as unauthenticated", () => {
    const error = errorOf(401, { errors: [{ message: "no credentials", extensions: { code: "UNAUTHENTICATED" } }] });
    expect(error?.unauthenticated).toBe(true);
  });
  it("joins several errors", () => {
    expect(errorOf(200, { errors: [{ message: "a" }, { message: "b", path: ["x", 0] }] })?.message).toBe("a; b (at x.0)");
  });
  it("reads an error status without a GraphQL body", () => {
    expect(errorOf(502, null)?.message).toBe("the server answered HTTP 502");
    expect(errorOf(200, {})?.message).toBe("the server answered without data");
  });
  it("passes data through", () => {
    expect(errorOf(200, { data: { viewer: null } })).toBeNull();
  });
});
