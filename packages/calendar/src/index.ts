/**
 * @civic-desk/calendar — Turkish working days and SLA deadlines in Europe/Istanbul, as pure
 * functions over holiday data (`infra/calendar/holidays-tr.json`) passed in. No clock inside.
 */
/** Holiday data: schema, validation, loading from a file, and its two error classes. */
export {
  CALENDAR_ZONE,
  CalendarCoverageError,
  HolidayDataError,
  HolidayFileSchema,
  HolidaySchema,
  OfficeHoursSchema,
  createBusinessCalendar,
  defaultHolidayFile,
  loadHolidayData,
  parseHolidays,
} from './calendar.ts'
export type {
  BusinessCalendar,
  DayInfo,
  DayKind,
  Deadline,
  Holiday,
  HolidayData,
  HolidayProblem,
  LocalDate,
  OfficeHours,
  OfficeHoursInput,
} from './calendar.ts'
/** The SLA clock with pauses: due instants, elapsed fraction, 75 % / 100 % threshold instants. */
export {
  SLA_BREACH_FRACTION,
  SLA_WARNING_FRACTION,
  elapsedFraction,
  instantAtFraction,
  slaClock,
  slaClockFromDue,
  slaStatusAt,
  thresholdsReachedBetween,
} from './sla-clock.ts'
export type { SlaClock, SlaClockInput, SlaPause, SlaStatus, SlaThreshold } from './sla-clock.ts'
