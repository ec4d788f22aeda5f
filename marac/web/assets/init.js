// Served as /static/init.js and loaded with
//   <script type="module" src="/static/init.js"></script>
// Our CSP forbids inline scripts, so this replaces the inline snippet from
// govuk-frontend's template.njk, which adds `js-enabled` and (in browsers that
// support ES modules) `govuk-frontend-supported` to <body>. govuk-frontend v5+
// components refuse to initialise without `govuk-frontend-supported`.
// Module scripts only run in browsers with ES module support and are deferred
// until the document has been parsed, so document.body exists here.
import { initAll } from './govuk-frontend.min.js'

document.body.classList.add('js-enabled', 'govuk-frontend-supported')
initAll()

// A page waiting for a background job (templates/jobs/status.html) fetches itself again every
// few seconds and swaps its live region in place, until the job has finished.
const job = document.querySelector('[data-marac-job]')
if (job && job.hasAttribute('data-marac-refresh')) {
  const poll = async () => {
    const answer = await fetch(window.location.href, { credentials: 'same-origin' })
    const fresh = new DOMParser().parseFromString(await answer.text(), 'text/html').querySelector('[data-marac-job]')
    if (!answer.ok || !fresh) return
    job.innerHTML = fresh.innerHTML
    if (fresh.hasAttribute('data-marac-refresh')) setTimeout(poll, 3000)
  }
  setTimeout(poll, 3000)
}
