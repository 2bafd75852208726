export { ConfigSchema, SETTINGS, CONFIG_FILE_ENV, type Config, type ConfigKey, type Setting, type ExtraChild } from './schema.js';
export { loadConfig, loadConfigOrExit, configToEnv, detectRaspberryPi, EXIT_CONFIG, type ConfigResult, type LoadSources } from './load.js';
export { payoutPaths, payoutEnabled, payoutSupervised, type PayoutPaths } from './payout.js';
