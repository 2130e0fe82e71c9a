package org.genrec.plugin.ingest;

import org.opensearch.ingest.AbstractProcessor;
import org.opensearch.ingest.ConfigurationUtils;
import org.opensearch.ingest.IngestDocument;
import org.opensearch.ingest.Processor;

import java.util.Map;

import static org.genrec.runtime.encoding.EventSchema.SEQ;

/**
 * {@code genrec_event_seq}: numbers each event in the order this node ingests it ({@link IngestionSequence}), in the field
 * that the {@code user} lookup breaks equal timestamps with ({@code seq}). An application that writes events through a
 * pipeline with this processor (the events index's default pipeline) gets its events back in the order it sent them, as the
 * trainer reads a log, without numbering them itself. An event that already has a (non-null) value keeps it unless
 * {@code override} is set, so a log bulk-loaded with its own numbering ({@code genrec-tools index-events}) keeps that.
 */
public final class EventSeqProcessor extends AbstractProcessor {

    public static final String TYPE = "genrec_event_seq";

    private final String field;
    private final boolean override;
    private final IngestionSequence sequence;

    EventSeqProcessor(String tag, String description, String field, boolean override, IngestionSequence sequence) {
        super(tag, description);
        this.field = field;
        this.override = override;
        this.sequence = sequence;
    }

    @Override
    public IngestDocument execute(IngestDocument document) {
        // A null seq (a writer that always sends the field) would leave the event unordered: numbered like a missing one.
        if (override || document.getFieldValue(field, Object.class, true) == null) {
            document.setFieldValue(field, sequence.next());
        }
        return document;
    }

    @Override
    public String getType() {
        return TYPE;
    }

    /** {@code {"genrec_event_seq": {"field": "seq", "override": false}}}; both optional. One sequence per node. */
    public static final class Factory implements Processor.Factory {

        private final IngestionSequence sequence;

        public Factory(IngestionSequence sequence) {
            this.sequence = sequence;
        }

        @Override
        public EventSeqProcessor create(Map<String, Processor.Factory> registry, String tag, String description, Map<String, Object> config) {
            String field = ConfigurationUtils.readStringProperty(TYPE, tag, config, "field", SEQ);
            boolean override = ConfigurationUtils.readBooleanProperty(TYPE, tag, config, "override", false);
            return new EventSeqProcessor(tag, description, field, override, sequence);
        }
    }
}
