export { Supervisor, EXIT_SLOT_SWITCH, type SupervisorDeps, type LedPort, type NotifyPort, type WatchdogPort } from './supervisor.js';
export { childTable, startOrder, validateTable, payoutNodeArgs, type ChildSpec, type RestartPolicy, type PayoutChildOptions } from './children.js';
export { plan, allSettled, type ChildState, type Step, type Target, type PlanInput } from './plan.js';
export { backoffDelay, retryDelay, isCrashLoop, DEFAULT_TUNING, type RestartTuning } from './restart-policy.js';
export { ledStateFor, healthOf, isFaulted } from './led-state.js';
export { watchdogVerdict, WatchdogGate, LoopLag, type GateLimits, type Verdict } from './watchdog-gate.js';
export { pressForReset, expire as expireReset, DISARMED, DEFAULT_CONFIRM_WINDOW_MS, type ResetArming } from './factory-reset.js';
export { UpdateLocks } from './locks.js';
export { spawnChild, type SpawnFn, type ChildHandle } from './child-process.js';
