// Bundled by esbuild in the test setup (conftest.py) so pages load analytics-next without its CDN.
import { AnalyticsBrowser } from '@segment/analytics-next';

window.AnalyticsBrowser = AnalyticsBrowser;
