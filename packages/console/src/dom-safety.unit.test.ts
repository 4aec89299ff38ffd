// The console inserts server data into the page only as text: no module may use an HTML sink.
import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'

const publicDir = new URL('./public/', import.meta.url)
const modules = readdirSync(publicDir).filter((name) => name.endsWith('.js'))

t.test('no HTML sinks in the browser modules', async (t) => {
  t.same(modules.sort(), ['api.js', 'app.js', 'format.js', 'labels.js', 'neighbourhoods.js', 'statuses.js'])
  for (const name of modules) {
    const source = readFileSync(new URL(name, publicDir), 'utf8')
    t.notMatch(source, /\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|\beval\(|new Function\(/, `${name} builds DOM from nodes and text only`)
  }
  const html = readFileSync(new URL('index.html', publicDir), 'utf8')
  t.notMatch(html, /<script>(?!\s*<\/script>)/, 'no inline scripts in index.html')
})
