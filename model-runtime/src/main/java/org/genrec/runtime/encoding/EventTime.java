package org.genrec.runtime.encoding;

import org.genrec.runtime.InvalidRequestException;

import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;

/**
 * Event times as users send them: Unix seconds (number or digits) or ISO-8601, always to Unix seconds, floored. The
 * trainer's {@code schema.parse_timestamp} reads the same shapes the same way (a date-time without a zone is UTC, a
 * space may stand for the 'T'), so a log that trains also serves.
 */
public final class EventTime {

    private EventTime() {}

    public static long toUnixSeconds(Object value) {
        if (value instanceof Number number) {
            if (number instanceof Double || number instanceof Float) {
                double d = number.doubleValue();
                if (!Double.isFinite(d)) {
                    throw new InvalidRequestException("time [" + value + "] is not a finite number");
                }
                return (long) Math.floor(d);
            }
            return number.longValue();
        }
        if (value instanceof String text) {
            String s = text.trim();
            if (s.matches("-?\\d+")) {
                try {
                    return Long.parseLong(s);
                } catch (NumberFormatException e) {
                    throw new InvalidRequestException("time [" + text + "] is out of range");
                }
            }
            String iso = s.length() > 10 && s.charAt(10) == ' ' ? s.substring(0, 10) + 'T' + s.substring(11) : s;
            try {
                return OffsetDateTime.parse(iso).toEpochSecond();
            } catch (DateTimeParseException ignored) {
                // fall through to the other ISO-8601 shapes
            }
            try {
                return Instant.parse(iso).getEpochSecond();
            } catch (DateTimeParseException ignored) {
                // fall through
            }
            try {
                return LocalDateTime.parse(iso).toEpochSecond(ZoneOffset.UTC); // no zone: UTC, as logs rarely carry one
            } catch (DateTimeParseException ignored) {
                // fall through
            }
            try {
                return LocalDate.parse(iso).atStartOfDay().toEpochSecond(ZoneOffset.UTC);
            } catch (DateTimeParseException ignored) {
                // fall through
            }
        }
        throw new InvalidRequestException(
            "time [" + value + "] is neither Unix seconds nor an ISO-8601 date-time (e.g. 2000-12-31T22:12:40Z)"
        );
    }
}
