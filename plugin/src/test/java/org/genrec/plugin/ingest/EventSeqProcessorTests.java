package org.genrec.plugin.ingest;

import org.opensearch.ingest.IngestDocument;
import org.opensearch.test.OpenSearchTestCase;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** The numbers the processor hands out, and which events get one; GenrecQueryIT looks events numbered this way up in order. */
public class EventSeqProcessorTests extends OpenSearchTestCase {

    public void testEachNumberIsAboveTheLastEvenWhenTheClockStandsStillOrGoesBack() {
        AtomicLong clock = new AtomicLong(5_000);
        IngestionSequence sequence = new IngestionSequence(clock::get);
        assertEquals(5_000, sequence.next());
        assertEquals(5_001, sequence.next()); // same microsecond
        clock.set(4_000); // the clock stepped back (NTP)
        assertEquals(5_002, sequence.next());
        clock.set(9_000);
        assertEquals("a later clock is taken as it is, so numbers follow time across restarts", 9_000, sequence.next());
    }

    public void testTheWallClockSequenceIsInMicroseconds() {
        long before = System.currentTimeMillis() * 1000;
        long seq = IngestionSequence.onWallClock().next();
        assertTrue(seq >= before && seq <= System.currentTimeMillis() * 1000);
    }

    public void testAnEventWithoutSeqGetsTheNextNumberAndOneWithItKeepsIt() {
        EventSeqProcessor processor = create(new HashMap<>(), new IngestionSequence(() -> 100));
        IngestDocument first = event(null);
        IngestDocument second = event(null);
        IngestDocument numbered = event(7L);
        processor.execute(first);
        processor.execute(numbered);
        processor.execute(second);
        assertEquals(Long.valueOf(100), first.getFieldValue("seq", Long.class));
        assertEquals(Long.valueOf(101), second.getFieldValue("seq", Long.class));
        assertEquals(Long.valueOf(7), numbered.getFieldValue("seq", Long.class));
        IngestDocument nullSeq = event(null);
        nullSeq.setFieldValue("seq", (Object) null);
        processor.execute(nullSeq);
        assertEquals("a null seq is numbered like a missing one", Long.valueOf(102), nullSeq.getFieldValue("seq", Long.class));
    }

    public void testOverrideAndAnotherFieldName() {
        EventSeqProcessor processor = create(new HashMap<>(Map.of("field", "order", "override", true)), new IngestionSequence(() -> 100));
        IngestDocument doc = event(7L);
        doc.setFieldValue("order", 3L);
        processor.execute(doc);
        assertEquals(Long.valueOf(100), doc.getFieldValue("order", Long.class));
        assertEquals("the default field is left alone", Long.valueOf(7), doc.getFieldValue("seq", Long.class));
    }

    public void testTheFactoryTakesItsOptionsAndLeavesOthersForThePipelineToRefuse() {
        // OpenSearch refuses a pipeline whose processor config keeps keys its factory did not take.
        Map<String, Object> config = new HashMap<>(Map.of("field", "seq", "override", false, "feild", "seq"));
        create(config, IngestionSequence.onWallClock());
        assertEquals(Map.of("feild", "seq"), config);
    }

    private static EventSeqProcessor create(Map<String, Object> config, IngestionSequence sequence) {
        return new EventSeqProcessor.Factory(sequence).create(Map.of(), "tag", null, config);
    }

    private static IngestDocument event(Long seq) {
        Map<String, Object> source = new HashMap<>(Map.of("user_id", "u1", "item_id", "i1", "action", "click", "timestamp", 1_700_000_000L));
        if (seq != null) {
            source.put("seq", seq);
        }
        return new IngestDocument("events", "id", null, null, null, source);
    }
}
