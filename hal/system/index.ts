// Public face of hal/system: health numbers from /proc and /sys, systemd notification, and the
// idle process's page trimming.
export { PROC_PATHS, createProcSystemInfo } from './system-info.js';
export type { DiskInfo, ProcSystemInfoOptions, SystemInfo, SystemInfoSource } from './system-info.js';
export {
  cpuPercentBetween, parseCpuSample, parseCpuinfoCount, parseLoadavg, parseMeminfo, parseMilliCelsius, parseThrottled, parseUptime,
} from './proc-parse.js';
export type { CpuSample, Throttled } from './proc-parse.js';
export { createSdNotifier, formatNotifyMessage, parseWatchdogUsec } from './sd-notify.js';
export type { SdNotifier, SdNotifierOptions, SdNotifyAddon } from './sd-notify.js';
export { loadResidentPages, parseRollup, readRollup, startIdleTrim } from './resident-pages.js';
export type { IdleTrim, IdleTrimOptions, MemoryRollup, ResidentPagesAddon } from './resident-pages.js';
