// Realistic citizen requests for benchmarks and simulations: Turkish descriptions over the
// catalogue's common categories, real-looking streets of a district's neighbourhoods with
// coordinates around each neighbourhood's centre, the channel and request-kind mix of a Beyaz
// Masa, named and anonymous citizens. Seeded, so two runs with one seed send the same requests.
//
// Duplicates happen as they do in a city: the same problem on the same street reported twice
// within a few days is similar text a few dozen metres apart; a busy benchmark therefore sees a
// duplicate rate that grows with the number of requests per street and category.
import type { SubmissionBody } from '@civic-desk/contracts'

/** A small, fast, seedable PRNG (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let x = state
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** Neighbourhoods of Bornova (İzmir) with approximate centres. */
export const NEIGHBOURHOODS: ReadonlyArray<{ readonly name: string; readonly lat: number; readonly lon: number }> = [
  { name: 'Kazımdirik', lat: 38.4605, lon: 27.2105 },
  { name: 'Erzene', lat: 38.4632, lon: 27.2232 },
  { name: 'Atatürk', lat: 38.4541, lon: 27.2341 },
  { name: 'Kemalpaşa', lat: 38.4658, lon: 27.2301 },
  { name: 'Çamdibi', lat: 38.4431, lon: 27.1942 },
  { name: 'Işıklar', lat: 38.4702, lon: 27.2198 },
  { name: 'Doğanlar', lat: 38.4508, lon: 27.2589 },
  { name: 'Gürçeşme', lat: 38.4389, lon: 27.1861 },
  { name: 'Mevlana', lat: 38.4481, lon: 27.2164 },
  { name: 'Yeşilova', lat: 38.4565, lon: 27.1948 },
  { name: 'Evka 3', lat: 38.4811, lon: 27.2298 },
  { name: 'Evka 4', lat: 38.4748, lon: 27.2421 },
  { name: 'Birlik', lat: 38.4402, lon: 27.2012 },
  { name: 'Mansuroğlu', lat: 38.4449, lon: 27.2086 },
  { name: 'Kızılay', lat: 38.4619, lon: 27.2161 },
  { name: 'Barbaros', lat: 38.4685, lon: 27.2076 },
  { name: 'Karacaoğlan', lat: 38.4521, lon: 27.2048 },
  { name: 'Merkez', lat: 38.4669, lon: 27.2207 },
  { name: 'Naldöken', lat: 38.4578, lon: 27.1869 },
  { name: 'Altındağ', lat: 38.4355, lon: 27.1978 },
  { name: 'Egemenlik', lat: 38.4512, lon: 27.1905 },
  { name: 'Yakaköy', lat: 38.4889, lon: 27.2705 },
  { name: 'Zafer', lat: 38.4592, lon: 27.2009 },
  { name: 'İnönü', lat: 38.4427, lon: 27.2215 },
  { name: 'Koşukavak', lat: 38.4364, lon: 27.2123 },
  { name: 'Rafet Paşa', lat: 38.4476, lon: 27.1823 },
  { name: 'Tuna', lat: 38.4498, lon: 27.1997 },
  { name: 'Ergene', lat: 38.4641, lon: 27.2389 },
  { name: 'Çiçekli', lat: 38.4559, lon: 27.2453 },
  { name: 'Kocakapı', lat: 38.4712, lon: 27.2143 },
  { name: 'Serintepe', lat: 38.4398, lon: 27.2301 },
  { name: 'Pınarbaşı', lat: 38.4256, lon: 27.2542 },
  { name: 'Süleymaniye', lat: 38.4418, lon: 27.1902 },
  { name: 'Beşyol', lat: 38.4735, lon: 27.1995 },
  { name: 'Meriç', lat: 38.4667, lon: 27.1931 },
  { name: 'Ümit', lat: 38.4511, lon: 27.1752 },
  { name: 'Çınarlı', lat: 38.4793, lon: 27.2154 },
  { name: 'Karaçam', lat: 38.4835, lon: 27.2512 },
]

const STREETS = [
  'Ankara Caddesi', 'Mustafa Kemal Caddesi', 'Fevzi Çakmak Caddesi', 'Kazım Dirik Caddesi', 'Gençlik Caddesi',
  'Erzene Sokak', '128 Sokak', '157/2 Sokak', '86 Sokak', '511 Sokak', 'Zübeyde Hanım Caddesi', 'Ege Sokak',
  'Lale Sokak', 'Menekşe Sokak', 'Çınar Sokak', 'İstiklal Caddesi', 'Barış Sokak', 'Okul Sokak', 'Cami Sokak',
  'Pazar Yeri Sokak', 'Gül Sokak', 'Hürriyet Caddesi', 'Sakarya Caddesi', '1203 Sokak',
]

const NAMES = ['Ayşe Yılmaz', 'Mehmet Demir', 'Şule Çağlayan', 'Ömer Faruk Öztürk', 'Gülşen Kaya', 'İbrahim Aydın', 'Çiğdem Şahin', 'Ali Rıza Koç', 'Hatice Arslan', 'Barış Güneş', 'Zeynep Doğan', 'Uğur Çelik']

/** Descriptions per category: `{street}` is filled in; the rest varies by choice. */
const TEMPLATES: Readonly<Record<string, readonly string[]>> = {
  'yol-cukur': [
    '{street} üzerinde derin bir çukur var, araçlar zarar görüyor.',
    '{street} ile kesişimde yolda büyük çukur oluştu, gece görünmüyor.',
    '{street} başında çukur yüzünden bir motosiklet devrildi, acil bakılmalı.',
  ],
  asfalt: ['{street} asfaltı bozuldu, yol yama istiyor.', 'Kazı sonrası {street} asfaltı kapatılmadı, toz ve çamur var.'],
  kaldirim: ['{street} kaldırım taşları kırık, yaşlılar düşüyor.', '{street} kaldırımına araçlar park ediyor ve taşlar söküldü.'],
  'cop-toplama': ['{street} çöpler üç gündür alınmadı, koku var.', '{street} çöp kamyonu bu hafta hiç gelmedi.'],
  konteyner: ['{street} çöp konteyneri kırık, kapağı kapanmıyor.', '{street} konteyner taşıyor, ek konteyner istiyoruz.'],
  'sokak-temizligi': ['{street} süpürülmüyor, yaprak ve çöp birikti.', 'Pazar sonrası {street} temizlenmedi.'],
  'agac-budama': ['{street} ağaç dalları elektrik tellerine değiyor.', '{street} ağaçlar budanmalı, sokak lambasını kapatıyor.'],
  'park-bakim': ['{street} yanındaki parkta salıncak kırık, çocuklar için tehlikeli.', '{street} parkındaki banklar kırık ve çimler bakımsız.'],
  gurultu: ['{street} gece geç saatlere kadar yüksek sesle müzik çalınıyor.', '{street} inşaat sabah 6da başlıyor, gürültüden uyuyamıyoruz.'],
  'seyyar-satici': ['{street} kaldırım seyyar satıcılarla kaplı, geçilemiyor.'],
  isgal: ['{street} bir dükkan kaldırımı masa ve sandalyeyle işgal etmiş.'],
  'sokak-hayvanlari': ['{street} sahipsiz köpekler çocuklara saldırıyor.', '{street} sokak kedileri için mama ve su kabı istiyoruz.'],
  'yarali-hayvan': ['{street} yaralı bir köpek var, veteriner ekibi gelmeli.', '{street} arabanın çarptığı kedi yerde yatıyor.'],
  ilaclama: ['{street} sivrisinek çok fazla, ilaçlama yapılsın.', '{street} rögarlardan hamamböceği çıkıyor, ilaçlama istiyoruz.'],
  'su-arizasi': ['{street} su borusu patladı, su yola akıyor.', '{street} iki gündür su yok.'],
  'kanalizasyon-tikanikligi': ['{street} kanalizasyon taştı, pis su sokağa yayılıyor.'],
  'rogar-kapagi': ['{street} rögar kapağı yerinden çıkmış, çukur açıkta.', '{street} rögar kapağı çalınmış, çok tehlikeli.'],
  durak: ['{street} otobüs durağının camı kırık, oturak yok.'],
  'trafik-isaret': ['{street} dur tabelası devrilmiş.', '{street} yaya geçidi çizgileri silinmiş, okul çıkışı tehlikeli.'],
  'kacak-yapi': ['{street} bir binanın çatısına ruhsatsız kat çıkılıyor.'],
  'tehlikeli-yapi': ['{street} metruk binanın duvarı yola doğru yıkılmak üzere.'],
  'kar-buzlanma': ['{street} yokuşu buz tuttu, tuzlama yapılmadı.'],
}

/** Uncategorised free text: the classifier has to place these (or the Beyaz Masa takes them). */
const FREE_TEXT = [
  '{street} sokak lambaları yanmıyor, gece çok karanlık.',
  '{street} çukurlar yüzünden araçlar zarar görüyor, yetkililer ilgilenmiyor.',
  '{street} çöpler toplanmadığı için fareler türedi.',
  'Komşumun köpeği {street} sürekli havlıyor, ne yapabilirim?',
  '{street} kaldırımdaki ağaç kökleri taşları kaldırmış.',
  '{street} belediye otobüsü durakta durmadan geçiyor.',
]

const INFORMATION = [
  'Belediyenin 2025 yılı asfalt harcamalarını öğrenmek istiyorum.',
  '{street} için planlanan yol çalışmasının ihale belgelerini talep ediyorum.',
  'Bornova’daki parkların bakım sözleşmelerinin bedelini öğrenmek istiyorum.',
  'Mahallemizdeki kreş projesinin ne zaman tamamlanacağını öğrenmek istiyorum.',
]

const SUGGESTIONS = ['{street} bisiklet yolu yapılmasını öneriyorum.', '{street} yanındaki boş alana çocuk parkı yapılabilir.', 'Semt pazarına tuvalet yapılmasını öneriyorum.']

/** Share of each channel among a Beyaz Masa's requests. */
const CHANNELS: ReadonlyArray<readonly [SubmissionBody['channel'], number]> = [
  ['call-center', 0.38],
  ['whatsapp', 0.18],
  ['web', 0.14],
  ['mobile-app', 0.1],
  ['cimer', 0.06],
  ['email', 0.05],
  ['walk-in', 0.04],
  ['social-media', 0.02],
  ['mobile-team', 0.02],
  ['petition', 0.01],
]

export interface WorkloadOptions {
  readonly seed?: number
  /** Prefix of every externalId, so runs never collide on idempotency. */
  readonly runId: string
  /**
   * The share of requests (0..1) that repeat a recent one, as a desk sees it (~10–20 %). Without
   * it, duplicates arise from the streets alone: a district's two dozen streets and categories
   * soon hold an open case for every combination, and after a few thousand requests nearly every
   * new one repeats one (a storm's afternoon, not a normal day).
   */
  readonly duplicateShare?: number
}

/**
 * Where the requests of a controlled duplicate share are: a grid of points 250 m apart over the
 * metropolitan area (İzmir, about 75 × 75 km), visited in a scrambled order, so a new problem is
 * never within routing's duplicate radius (150 m) of another one until the grid wraps around
 * (90,000 points).
 */
const GRID = { originLat: 38.1, originLon: 26.75, stepMeters: 250, side: 300 } as const
const METRES_PER_DEGREE_LAT = 111_000
const gridPoint = (n: number): { lat: number; lon: number } => {
  const cells = GRID.side * GRID.side
  // A multiplier coprime to the cell count scatters consecutive points over the city.
  const cell = (n * 7_919) % cells
  const row = Math.floor(cell / GRID.side)
  const column = cell % GRID.side
  const lat = GRID.originLat + (row * GRID.stepMeters) / METRES_PER_DEGREE_LAT
  const lon = GRID.originLon + (column * GRID.stepMeters) / (METRES_PER_DEGREE_LAT * Math.cos((lat * Math.PI) / 180))
  return { lat: round(lat), lon: round(lon) }
}

/** How many recent new problems a repeat is drawn from (they are all still open in a benchmark). */
const RECENT_PROBLEMS = 500

/** An endless, seeded source of realistic submission bodies. */
export function createWorkload(options: WorkloadOptions): { next(): SubmissionBody; readonly count: number } {
  const random = seededRandom(options.seed ?? 153)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const weighted = <T>(items: ReadonlyArray<readonly [T, number]>): T => {
    let r = random()
    for (const [item, weight] of items) if ((r -= weight) < 0) return item
    return items.at(-1)![0]
  }
  const categories = Object.keys(TEMPLATES)
  let count = 0
  const share = options.duplicateShare
  if (share !== undefined && !(share >= 0 && share <= 1)) throw new RangeError(`duplicateShare must be within 0..1, got ${share}`)
  // The controlled share: recent new problems (category, text, point) a repeat reports again.
  const recent: Array<{ kind: SubmissionBody['kind']; category: string; description: string; address: string; lat: number; lon: number }> = []
  let points = 0
  /** Puts a request at the grid's next point, dropping its neighbourhood (the address keeps it). */
  const pinAtNewPoint = (location: object): void => {
    Object.assign(location, gridPoint(points++))
    delete (location as { neighbourhood?: string }).neighbourhood
  }

  const next = (): SubmissionBody => {
    count++
    const place = pick(NEIGHBOURHOODS)
    const street = pick(STREETS)
    const fill = (text: string): string => text.replace('{street}', street)
    const roll = random()
    let kind: SubmissionBody['kind']
    let category: string | undefined
    let description: string
    if (roll < 0.05) {
      kind = 'information'
      description = fill(pick(INFORMATION))
    } else if (roll < 0.09) {
      kind = 'suggestion'
      description = fill(pick(SUGGESTIONS))
    } else if (roll < 0.3) {
      kind = random() < 0.7 ? 'complaint' : 'request'
      description = fill(pick(FREE_TEXT))
    } else {
      category = pick(categories)
      kind = category === 'yarali-hayvan' || category === 'kacak-yapi' ? 'tip' : random() < 0.6 ? 'complaint' : 'request'
      description = fill(pick(TEMPLATES[category]!))
    }
    const channel = kind === 'information' && random() < 0.5 ? 'cimer' : weighted(CHANNELS)
    // Within a few hundred metres of the neighbourhood's centre; three in ten give no coordinates.
    const located = random() < 0.7
    const location = {
      neighbourhood: random() < 0.5 ? `${place.name} Mahallesi` : place.name,
      address: `${street}, ${place.name}, Bornova`,
      ...(located ? { lat: round(place.lat + (random() - 0.5) * 0.008), lon: round(place.lon + (random() - 0.5) * 0.008) } : {}),
    }
    if (share !== undefined && category !== undefined) {
      if (recent.length > 0 && random() < share / 0.7) {
        // Someone else reports a recent problem again: its words, a few metres from its point.
        const earlier = pick(recent)
        kind = earlier.kind
        category = earlier.category
        description = earlier.description
        location.address = earlier.address
        Object.assign(location, { lat: round(earlier.lat + (random() - 0.5) * 0.0004), lon: round(earlier.lon + (random() - 0.5) * 0.0004) })
      } else {
        // A new problem at a point of its own, pinned on the map (the neighbourhood is in the address).
        pinAtNewPoint(location)
        recent.push({ kind, category, description, address: location.address, lat: (location as { lat: number }).lat, lon: (location as { lon: number }).lon })
        if (recent.length > RECENT_PROBLEMS) recent.shift()
      }
    } else if (share !== undefined) {
      // Information requests, suggestions and free text: never compared without a category; kept
      // apart from the grid's problems by their own point.
      pinAtNewPoint(location)
    }
    const anonymous = random() < 0.12
    const name = pick(NAMES)
    const preferred = weighted<'sms' | 'email' | 'whatsapp' | 'none'>([
      ['sms', 0.55],
      ['whatsapp', 0.2],
      ['email', 0.2],
      ['none', 0.05],
    ])
    const phone = `+90 5${30 + Math.floor(random() * 20)} ${100 + Math.floor(random() * 900)} ${10 + Math.floor(random() * 90)} ${10 + Math.floor(random() * 90)}`
    const email = `${name.split(' ')[0]!.toLocaleLowerCase('tr').replace(/[^a-z]/g, 'x')}.${count}@example.org`
    return {
      channel,
      externalId: `${options.runId}-${count}`,
      kind,
      ...(category === undefined ? {} : { category }),
      // The one required question of the catalogue (infra/catalogue/catalogue.json).
      ...(category === 'yarali-hayvan' ? { answers: { 'hayvan-turu': random() < 0.6 ? 'kedi' : 'kopek' } } : {}),
      description,
      location,
      ...(anonymous ? {} : { citizen: { name, phone, email, preferredChannel: preferred } }),
    }
  }
  return {
    next,
    get count() {
      return count
    },
  }
}

const round = (x: number): number => Math.round(x * 1e6) / 1e6
