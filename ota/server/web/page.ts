// A page of the fleet web UI: its hash path (#/rollouts), its nav title, and render(), which
// fills <main> and may register polls (stopped when the page changes).
export interface FleetPage {
  readonly path: string;
  readonly title: string;
  readonly nav?: boolean;
  render(main: HTMLElement, poll: (fn: () => Promise<void>, everyMs: number) => void, param: string | null): Promise<void>;
}
