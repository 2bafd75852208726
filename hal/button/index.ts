// Public face of hal/button: press classification (pure), the driver interface and drivers.
export {
  BOUNCE_MS, BUTTON_ACTIONS, FACTORY_RESET_MS, LONG_PRESS_MS, PressTracker, classifyPress, isButtonAction, typicalPressMs,
} from './classify.js';
export type { ButtonAction, PressTrackerOptions } from './classify.js';
export type { ButtonDriver, ButtonListener } from './types.js';
export { createGpioButton } from './gpio-button.js';
export type { GpioButtonOptions } from './gpio-button.js';
export { createSimButton } from './sim-button.js';
export type { SimButton, SimButtonOptions } from './sim-button.js';
