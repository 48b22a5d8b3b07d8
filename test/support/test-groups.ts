// Which test files run in a group of their own (vitest.config.ts), and why. Chromium aborts a
// page load or fetch in flight with net::ERR_NETWORK_CHANGED when the machine's network
// interfaces change, even one to 127.0.0.1 (a browser test failed so beside a fleet test). The
// fleet tests add and remove interfaces: hosts as network namespaces joined by veth pairs to a
// bridge in the root namespace (test/support/netns.ts). They run as a group before everything
// else, so never at the same time as a browser test. test/architecture/test-groups.test.ts fails
// when a file that reaches netns.ts is not matched here.

/** Globs (from the repository root) of the test files that change network interfaces. */
export const CHANGES_INTERFACES = ['test/fleet/netns.test.ts', 'test/fleet/fleet-*.test.ts'];
