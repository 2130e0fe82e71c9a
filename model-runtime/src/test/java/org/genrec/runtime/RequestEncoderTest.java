package org.genrec.runtime;

import org.genrec.runtime.bundle.BundleLoader;
import org.genrec.runtime.bundle.ModelBundle;
import org.genrec.runtime.encoding.EncodedRequest;
import org.genrec.runtime.encoding.EventTime;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.encoding.HistoryEvent;
import org.genrec.runtime.encoding.RequestEncoder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RequestEncoderTest {

    private static ModelBundle bundle;
    private static RequestEncoder encoder;
    private static String action;

    @BeforeAll
    static void load() {
        bundle = BundleLoader.load(FixtureBundle.path());
        encoder = new RequestEncoder(bundle.manifest(), bundle.items(), bundle.tokenizer());
        action = bundle.manifest().actions().get(0);
    }

    private static String item(int index) {
        return bundle.items().items().get(index - 1).itemId();
    }

    @Test
    void emptyHistoryIsOnePaddingEvent() {
        EncodedRequest e = encoder.encode(new GenrecRequest(List.of(), "anything", 100));
        assertEquals(1, e.length());
        assertArrayEquals(new long[] { 0 }, e.historyItems());
        assertArrayEquals(new long[] { 0 }, e.historyActions());
    }

    @Test
    void unknownItemsAreDroppedAndCountedAndTimesSortStably() {
        List<HistoryEvent> history = List.of(
            new HistoryEvent(item(3), action, 200, null),
            new HistoryEvent("no-such-item", action, 50, null),
            new HistoryEvent(item(1), action, 100, null),
            new HistoryEvent(item(2), action, 100, null)
        );
        EncodedRequest e = encoder.encode(new GenrecRequest(history, null, 300));
        assertEquals(1, e.droppedHistoryItems());
        assertArrayEquals(new long[] { 1, 2, 3 }, e.historyItems());
        assertArrayEquals(new long[] { 200, 200, 100 }, e.historyAgeSeconds());
    }

    @Test
    void longHistoryKeepsTheLatestEventsAndFutureEventsHaveAgeZero() {
        int max = bundle.manifest().maxHistory();
        List<HistoryEvent> history = new ArrayList<>();
        for (int i = 0; i < max + 7; i++) {
            history.add(new HistoryEvent(item(1 + i % 5), action, 1_000 + i, null));
        }
        EncodedRequest e = encoder.encode(new GenrecRequest(history, null, 1_000 + max));
        assertEquals(max, e.length());
        assertEquals(0, e.historyAgeSeconds()[max - 1], "an event after the request time is clamped to age 0");
        assertEquals(max - 7, e.historyAgeSeconds()[0]);
    }

    @Test
    void hugeHistoryIsRefusedWithAReason() {
        List<HistoryEvent> history = Collections.nCopies(RequestEncoder.MAX_RAW_HISTORY + 1, new HistoryEvent(item(1), action, 1, null));
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> encoder.encode(new GenrecRequest(history, null, 2)));
        assertTrue(e.getMessage().contains("at most " + RequestEncoder.MAX_RAW_HISTORY), e.getMessage());
    }

    @Test
    void unknownActionIsRefusedNamingTheKnownOnes() {
        List<HistoryEvent> history = List.of(new HistoryEvent(item(1), "teleport", 1, null));
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> encoder.encode(new GenrecRequest(history, null, 2)));
        assertTrue(e.getMessage().contains("teleport") && e.getMessage().contains(action), e.getMessage());
    }

    @Test
    void unknownCandidateIsRefused() {
        assertThrows(InvalidRequestException.class, () -> encoder.encodeCandidates(List.of(item(1), "no-such-item")));
    }

    @Test
    void queryTextIsTokenizedLikeTheTrainer() {
        long[] tokens = bundle.tokenizer().encode("  ZZZ-unknownword!! 42 ");
        assertEquals(bundle.manifest().maxQueryTokens(), tokens.length);
        assertEquals(bundle.manifest().tokenizer().unkId(), tokens[0], "zzz is not in the vocabulary");
        assertEquals(bundle.manifest().tokenizer().padId(), tokens[tokens.length - 1]);
    }

    @Test
    void eventTimesAcceptUnixSecondsAndIso8601AndRefuseGarbage() {
        assertEquals(978300760L, EventTime.toUnixSeconds(978300760));
        assertEquals(978300760L, EventTime.toUnixSeconds("978300760"));
        assertEquals(978300760L, EventTime.toUnixSeconds("2000-12-31T22:12:40Z"));
        assertEquals(978300760L, EventTime.toUnixSeconds("2000-12-31T23:12:40+01:00"));
        assertEquals(978220800L, EventTime.toUnixSeconds("2000-12-31"));
        // The trainer's schema.parse_timestamp reads these the same way (trainer/tests/test_schema.py).
        assertEquals(978300760L, EventTime.toUnixSeconds("2000-12-31T22:12:40"), "no zone: UTC");
        assertEquals(978300760L, EventTime.toUnixSeconds("2000-12-31 22:12:40"), "a space for the T");
        assertEquals(978300760L, EventTime.toUnixSeconds("2000-12-31 23:12:40+01:00"));
        assertEquals(978300760L, EventTime.toUnixSeconds("2000-12-31T22:12:40.900Z"), "floored");
        assertEquals(978300760L, EventTime.toUnixSeconds("2000-12-31T22:12:40.9"));
        assertEquals(-1L, EventTime.toUnixSeconds("1969-12-31T23:59:59.5Z"), "floored below zero too");
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> EventTime.toUnixSeconds("yesterday"));
        assertTrue(e.getMessage().contains("ISO-8601"), e.getMessage());
        assertThrows(InvalidRequestException.class, () -> EventTime.toUnixSeconds(Double.NaN));
    }
}
