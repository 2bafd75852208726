// Chooses and opens the supervisor's hardware: real drivers on a Pi, simulated ones elsewhere,
// forced by LUCID_HAL. Only entries import concrete drivers (DESIGN §3).
import type { Config } from '../../config/index.js';
import type { Logger } from '../../../services/common/log.js';
import type { LedSnapshot } from '../../../services/common/ipc.js';
import {
  createSimLed, createSysfsLed, createGpioLed, createStatusLed, createOnoffGpio, createSimGpio,
  createGpioButton, createSimButton, createDevWatchdog, createSimWatchdog,
  type LedDriver, type ButtonDriver, type WatchdogDriver, type StatusLed, type SimLed, type GpioFactory,
} from '../../../hal/index.js';

export interface SupervisorHal {
  readonly mode: 'sim' | 'pi';
  readonly statusLed: StatusLed;
  readonly button: ButtonDriver | null;
  readonly watchdog: WatchdogDriver | null;
  ledView(): LedSnapshot;
  start(): Promise<void>;
  stop(options: { deadline: number }): Promise<void>;
}

export function halMode(config: Pick<Config, 'hal' | 'profile'>, isPi: boolean): 'sim' | 'pi' {
  if (config.hal === 'sim' || config.hal === 'pi') return config.hal;
  return isPi ? 'pi' : 'sim';
}

export function createSupervisorHal(config: Readonly<Config>, mode: 'sim' | 'pi', log: Logger): SupervisorHal {
  const halLog = log.child({ module: 'hal' });
  const onError = (err: unknown, id?: unknown): void => halLog.warn({ err, driver: id }, 'hal driver error');
  const drivers: LedDriver[] = [];
  let simLed: SimLed | null = null;
  let gpio: GpioFactory | null = null;
  if (mode === 'sim') {
    simLed = createSimLed({ id: 'sim' });
    drivers.push(simLed);
    gpio = config.ledGpio.length > 0 || config.buttonGpio !== null ? createSimGpio() : null;
  } else {
    for (const name of config.ledSysfs) drivers.push(createSysfsLed({ name, root: config.sysRoot }));
    if (config.ledGpio.length > 0 || config.buttonGpio !== null) gpio = createOnoffGpio({ root: config.sysRoot, onError });
  }
  for (const pin of config.ledGpio) if (gpio) drivers.push(createGpioLed({ gpio, pin }));

  const statusLed = createStatusLed({ drivers, onError });
  let button: ButtonDriver | null = null;
  if (config.buttonGpio !== null && gpio) button = createGpioButton({ gpio, pin: config.buttonGpio, onError });
  else if (mode === 'sim') button = createSimButton({ id: 'sim' });

  let watchdog: WatchdogDriver | null = null;
  // A configured device is always driven for real: in dev it may be a plain file, which lets a
  // test watch the kicks and the magic close. `sim` asks for the in-memory driver.
  if (config.watchdogDevice === 'sim') watchdog = createSimWatchdog();
  else if (config.watchdogDevice) watchdog = createDevWatchdog({ path: config.watchdogDevice });

  return {
    mode,
    statusLed,
    button,
    watchdog,
    ledView() {
      const current = statusLed.current();
      return { state: current.state, steps: current.steps, since: current.since, drivers: current.drivers, simulatedOn: simLed ? simLed.level : null };
    },
    async start() {
      await statusLed.start();
      await button?.start();
      await watchdog?.open();
    },
    async stop(options) {
      // A clean stop disarms the hardware watchdog (magic close); a crash leaves it armed.
      await watchdog?.close().catch((err: unknown) => halLog.error({ err }, 'watchdog close failed'));
      await button?.stop().catch(() => {});
      await statusLed.stop(options);
    },
  };
}
