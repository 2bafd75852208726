// Public face of hal/system: health numbers from /proc and /sys, and systemd notification.
export { PROC_PATHS, createProcSystemInfo } from './system-info.js';
export type { DiskInfo, ProcSystemInfoOptions, SystemInfo, SystemInfoSource } from './system-info.js';
export {
  cpuPercentBetween, parseCpuSample, parseCpuinfoCount, parseLoadavg, parseMeminfo, parseMilliCelsius, parseThrottled, parseUptime,
} from './proc-parse.js';
export type { CpuSample, Throttled } from './proc-parse.js';
export { createSdNotifier, formatNotifyMessage, parseWatchdogUsec } from './sd-notify.js';
export type { SdNotifier, SdNotifierOptions, SdNotifyAddon } from './sd-notify.js';
