import {
  ATTR_ERROR_TYPE,
  ATTR_EXCEPTION_MESSAGE,
  ATTR_EXCEPTION_STACKTRACE,
  ATTR_EXCEPTION_TYPE,
  ATTR_SERVICE_NAME,
} from "@opentelemetry/semantic-conventions";
import { expect, it } from "vitest";
import { ATTR, EXCEPTION_ATTR, RESOURCE_ATTR } from "../src/conventions.js";

it("spells the stable semantic-convention names as @opentelemetry/semantic-conventions does", () => {
  expect(ATTR.errorType).toBe(ATTR_ERROR_TYPE);
  expect(EXCEPTION_ATTR.type).toBe(ATTR_EXCEPTION_TYPE);
  expect(EXCEPTION_ATTR.message).toBe(ATTR_EXCEPTION_MESSAGE);
  expect(EXCEPTION_ATTR.stacktrace).toBe(ATTR_EXCEPTION_STACKTRACE);
  expect(RESOURCE_ATTR.serviceName).toBe(ATTR_SERVICE_NAME);
});
