// Entry of dist/web/payouts.js: the Payouts and Earnings pages, loaded on demand (../lazy.ts).
export { payoutsPage } from './payouts.js';
export { earningsPage, operatorEarningsPage } from './earnings.js';
