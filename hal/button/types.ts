// The push-button driver interface. The contract every driver keeps
// (tests/contract/hal/button-contract.ts):
//
// - `id` names the button: 'sim', 'gpio:27'.
// - Between start() and stop(), each completed press is delivered once to every listener as
//   (action, pressMs), classified by classifyPress(); presses under the bounce threshold are
//   dropped. Nothing is delivered before start() or after stop().
// - onAction() returns an unsubscribe function; a listener that throws does not stop the others
//   or the driver.
// - start() rejects with HAL_ERR_UNAVAILABLE when the button's pin cannot be opened; start() and
//   stop() are idempotent and the driver may be started again after stop().
import type { ButtonAction } from './classify.js';

export type ButtonListener = (action: ButtonAction, pressMs: number) => void;

export interface ButtonDriver {
  readonly id: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  onAction(cb: ButtonListener): () => void;
}
