/**
 * Galata's Playwright defaults, with Debian's Chromium (never a downloaded
 * browser), no video (it would want an ffmpeg download) and JupyterLab on its
 * own port with a throwaway store (start-jupyterlab.sh).
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const PORT = process.env.PIPELINE_UI_PORT || '8877';

module.exports = {
  ...baseConfig,
  reporter: [['list'], ['html', { open: 'never' }]],
  workers: 1,
  retries: 0,
  use: {
    ...baseConfig.use,
    baseURL: `http://localhost:${PORT}`,
    video: 'off',
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium'
    }
  },
  webServer: {
    command: 'bash start-jupyterlab.sh',
    url: `http://localhost:${PORT}/lab`,
    timeout: 120 * 1000,
    reuseExistingServer: false,
    env: { PIPELINE_UI_PORT: PORT }
  }
};
