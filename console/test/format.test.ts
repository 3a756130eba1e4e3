import { describe, expect, it } from "vitest";
import { displayName, echoed, identifierCount, parseRef, percent, refText, short, signed } from "../src/format";

describe("identifier text", () => {
  it("splits at the first colon, or after external:<system>", () => {
    expect(parseRef("email:ann@northwind.org")).toEqual({ kind: "email", value: "ann@northwind.org" });
    expect(parseRef(" customer_id:C:1 ")).toEqual({ kind: "customer_id", value: "C:1" });
    expect(parseRef("external:crm:77:1")).toEqual({ kind: "external:crm", value: "77:1" });
    for (const ref of [{ kind: "phone", value: "+4420" }, { kind: "external:erp", value: "a:b" }]) {
      expect(parseRef(refText(ref))).toEqual(ref);
    }
  });
  it("refuses text without a kind or a value", () => {
    expect(parseRef("ann@northwind.org")).toBeNull();
    expect(parseRef(":x")).toBeNull();
    expect(parseRef("email:")).toBeNull();
  });
});

describe("numbers and names", () => {
  it("shows probabilities without rounding a near-certain one to 100%", () => {
    expect(percent(0.5)).toBe("50.0%");
    expect(percent(0.99996)).toBe(">99.9%");
    expect(percent(1)).toBe("100.0%");
    expect(percent(null)).toBe("—");
  });
  it("signs weights", () => {
    expect(signed(3.14159)).toBe("+3.14");
    expect(signed(-0.5)).toBe("-0.50");
  });
  it("names a profile from its golden record", () => {
    expect(displayName([{ name: "last_name", value: "Nakamura" }, { name: "first_name", value: "Mia" }])).toBe("Mia Nakamura");
    expect(displayName([])).toBe("(no name)");
  });
  it("counts identifiers and cuts long labels", () => {
    expect(identifierCount([{ identifiers: [1, 2] }, { identifiers: [3] }])).toBe(3);
    expect(short("abcdef", 4)).toBe("abc…");
    expect(short("abc", 4)).toBe("abc");
  });
  it("echoes typed text without its control or bidi characters, cut short", () => {
    expect(echoed("email:ann\u202Egro.elpmaxe@\u0000x")).toBe("email:ann\uFFFDgro.elpmaxe@\uFFFDx");
    expect(echoed("x".repeat(100_000))).toHaveLength(80);
    expect(echoed("email:ann@example.org")).toBe("email:ann@example.org");
  });
});
