/**
 * Quiet hours for switches (`policy.switchWindow`): the SES put of a routine rotation
 * waits until the window opens, so the signing gap every switch has (SES-REALITY.md §2)
 * falls when little mail is sent. Key generation, DNS and verification go on meanwhile;
 * onboarding, emergencies and rollbacks never wait.
 */
import { z } from 'zod';

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const clockTime = z
  .string()
  .regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'must be HH:MM (24 h)')
  .describe('Local time HH:MM.');

export const switchWindowSchema = z
  .object({
    days: z
      .array(z.enum(WEEKDAYS))
      .min(1)
      .default([...WEEKDAYS])
      .describe('Days of the week (local) the window opens on; default every day.'),
    start: clockTime.describe('When the window opens, local time HH:MM.'),
    end: clockTime.describe('When it closes, local time HH:MM; before `start` means the next day.'),
    timeZone: z
      .string()
      .refine(isTimeZone, 'is not an IANA time zone (e.g. "Asia/Tokyo", "UTC")')
      .describe('IANA time zone of `start` and `end`.'),
  })
  .strict()
  .refine((w) => w.start !== w.end, { message: 'start and end must differ', path: ['end'] });

export type SwitchWindow = z.output<typeof switchWindowSchema>;

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

interface LocalParts {
  year: number;
  month: number;
  dayOfMonth: number;
  day: Weekday;
  minute: number;
}

/** The wall clock at `date` in `timeZone`. */
function localTime(date: Date, timeZone: string): LocalParts {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(date).map((p) => [p.type, p.value]));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    dayOfMonth: Number(parts.day),
    day: String(parts.weekday).toLowerCase().slice(0, 3) as Weekday,
    minute: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

function minutes(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

/** Whether the window is open at `date`. A window past midnight belongs to the day it opened. */
export function isWindowOpen(window: SwitchWindow, date: Date): boolean {
  const { day, minute } = localTime(date, window.timeZone);
  const start = minutes(window.start);
  const end = minutes(window.end);
  if (start < end) return window.days.includes(day) && minute >= start && minute < end;
  if (minute >= start) return window.days.includes(day);
  const yesterday = WEEKDAYS[(WEEKDAYS.indexOf(day) + 6) % 7] as Weekday;
  return minute < end && window.days.includes(yesterday);
}

/** The instant the wall clock in `timeZone` shows `minute` on the local day `dayOffset` days after `from`'s. */
function instantAt(from: Date, dayOffset: number, minute: number, timeZone: string): Date {
  const local = localTime(from, timeZone);
  const wall = Date.UTC(local.year, local.month - 1, local.dayOfMonth + dayOffset, 0, minute);
  // The zone's offset at the guess, taken twice so a DST change between `from` and the target is followed.
  let at = wall;
  for (let i = 0; i < 2; i++) {
    const seen = localTime(new Date(at), timeZone);
    const seenWall = Date.UTC(seen.year, seen.month - 1, seen.dayOfMonth, 0, seen.minute);
    at = wall - (seenWall - at);
  }
  return new Date(at);
}

/** The next moment the window opens, from `date` on; `date` itself if it is open. */
export function nextWindowOpening(window: SwitchWindow, date: Date): Date {
  if (isWindowOpen(window, date)) return date;
  const start = minutes(window.start);
  for (let d = 0; d <= 8; d++) {
    const at = instantAt(date, d, start, window.timeZone);
    if (at.getTime() > date.getTime() && isWindowOpen(window, at)) return at;
  }
  return date; // unreachable: `days` is never empty
}
