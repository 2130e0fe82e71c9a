package org.genrec.runtime.bundle;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import org.genrec.runtime.encoding.EncodeInputs;

import java.util.List;
import java.util.Map;

/**
 * {@code manifest.json}: the contract between trainer and runtime (docs/bundle-format.md).
 * Unknown fields are ignored so that a newer trainer can add information without breaking readers
 * of the same format version.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Manifest(
    @JsonProperty("format_version") int formatVersion,
    @JsonProperty("model_id") String modelId,
    @JsonProperty("model_version") String modelVersion,
    @JsonProperty("architecture") Architecture architecture,
    @JsonProperty("embedding_dim") int embeddingDim,
    @JsonProperty("max_history") int maxHistory,
    @JsonProperty("max_query_tokens") int maxQueryTokens,
    @JsonProperty("max_candidates") int maxCandidates,
    @JsonProperty("actions") List<String> actions,
    @JsonProperty("tokenizer") TokenizerSpec tokenizer,
    @JsonProperty("items") ItemsSpec items,
    @JsonProperty("graphs") Map<String, GraphSpec> graphs,
    @JsonProperty("golden") String golden,
    @JsonProperty("training") Map<String, Object> training,
    @JsonProperty("similarity") String similarity,
    @JsonProperty("ranking") RankingSpec ranking,
    @JsonProperty("rotary") RotarySpec rotary,
    @JsonProperty("co_occurrence") CoOccurrenceSpec coOccurrence
) {
    /** The largest {@code ranking.retrieval_weight} a bundle or a query may set. */
    public static final float MAX_RETRIEVAL_WEIGHT = 1000f;

    /** The only format this runtime reads. */
    public static final int SUPPORTED_FORMAT_VERSION = 3;

    /**
     * The model's sizes, for the runtime's FLOP count ({@link org.genrec.runtime.perf.FlopCount}).
     *
     * @param lastLayerRows how many of the encode's last tokens its last layer computes (the others' output is never
     *                      read, only their keys and values); 0 (absent, bundles written before session 48): every token
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Architecture(
        @JsonProperty("backbone") String backbone,
        @JsonProperty("d_model") int dModel,
        @JsonProperty("layers") int layers,
        @JsonProperty("heads") int heads,
        @JsonProperty("head_dim") int headDim,
        @JsonProperty("mlp_hidden") int mlpHidden,
        @JsonProperty("last_layer_rows") int lastLayerRows
    ) {}

    /**
     * What the encode graph's rotary rows depend on (docs/bundle-format.md, "Rotary rows"; {@link
     * org.genrec.runtime.encoding.RotaryRows} makes them).
     *
     * @param positionFrequencies float32: rotary pair i of the first ones turns with position * f_i
     * @param timeFrequencies     float32, time scale {@code log}: the next pairs turn with log1p(age / 60) * f_j
     * @param timePeriods         seconds, time scale {@code linear}: the next pairs turn once per period
     * @param timeScale           {@code log} or {@code linear}
     * @param tiePositions        events of one second share the position of the first of them
     * @param queryTime           {@code own}, or {@code next}: a history token's query turns at the next event's age
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record RotarySpec(
        @JsonProperty("position_frequencies") float[] positionFrequencies,
        @JsonProperty("time_frequencies") float[] timeFrequencies,
        @JsonProperty("time_periods") long[] timePeriods,
        @JsonProperty("time_scale") String timeScale,
        @JsonProperty("tie_positions") boolean tiePositions,
        @JsonProperty("query_time") String queryTime
    ) {
        public boolean queryAtNextEvent() {
            return "next".equals(queryTime);
        }

        public boolean linearTime() {
            return "linear".equals(timeScale);
        }

        /** Rotary pairs per row: Dh / 2. */
        public int pairs() {
            return positionFrequencies.length + (linearTime() ? timePeriods.length : timeFrequencies.length);
        }
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record TokenizerSpec(
        @JsonProperty("type") String type,
        @JsonProperty("vocab") String vocab,
        @JsonProperty("pad_id") int padId,
        @JsonProperty("unk_id") int unkId
    ) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record ItemsSpec(
        @JsonProperty("table") String table,
        @JsonProperty("embeddings") String embeddings,
        @JsonProperty("count") int count,
        /** Token limit of an item's text (categories, then title); 0 in bundles written before the field existed. */
        @JsonProperty("max_item_tokens") int maxItemTokens
    ) {}

    /** The optional graph that embeds an item added after training from its text (docs/bundle-format.md). */
    public static final String ITEM_ENCODER = "item_encoder";
    /** The optional graph that ranks such items by the input rows the item encoder gives them; declared with it. */
    public static final String SCORE_ROWS = "score_rows";

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record GraphSpec(
        @JsonProperty("file") String file,
        @JsonProperty("inputs") List<String> inputs,
        @JsonProperty("outputs") List<String> outputs
    ) {}

    /**
     * The served order's defaults (docs/bundle-format.md): {@code retrieval_weight} w blends the
     * retrieval similarity into the ranking, {@code log sigmoid(logit) + w * similarity}, and
     * {@code co_occurrence_weight} v adds {@code v * log(1 + co-occurrence counts)} to that blend ({@link CoOccurrence}).
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record RankingSpec(
        @JsonProperty("retrieval_weight") double retrievalWeight,
        @JsonProperty("co_occurrence_weight") double coOccurrenceWeight
    ) {}

    /**
     * The optional co-occurrence counts ({@link CoOccurrence}): the file, how many pairs it holds, and what they count:
     * {@code span} 0 (or absent) items logged in the same second, the request's latest second read; K > 0 items
     * logged at most K events apart, the request's last K events read.
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record CoOccurrenceSpec(@JsonProperty("file") String file, @JsonProperty("pairs") int pairs, @JsonProperty("span") int span) {}

    /** How many of a request's last events the co-occurrence term reads; 0: those of its latest second (or no term). */
    public int coOccurrenceSpan() {
        return coOccurrence == null ? 0 : coOccurrence.span();
    }

    /** The blend weight the trainer chose on validation; 0 (the ranking head alone) when the manifest does not say. */
    public float retrievalWeight() {
        return ranking == null ? 0f : (float) ranking.retrievalWeight();
    }

    /** The co-occurrence term's weight in the blend, chosen by the trainer on validation; 0 when the manifest does not say. */
    public float coOccurrenceWeight() {
        return ranking == null ? 0f : (float) ranking.coOccurrenceWeight();
    }

    /** How the model compares user and item embeddings; cosine when the manifest does not say. */
    public RetrievalSimilarity retrievalSimilarity() {
        return RetrievalSimilarity.fromManifest(similarity);
    }

    /**
     * Whether the encode graph reads history events of items added after training by their text (its
     * {@code history_item_tokens} input: models trained with {@code --item-id-dropout}, exported since session 38).
     */
    public boolean readsNewHistoryItems() {
        return graph("encode").inputs().contains(EncodeInputs.HISTORY_ITEM_TOKENS);
    }

    /**
     * Whether the encode graph reads when the request is made (its {@code request_time} input: models trained with
     * {@code --absolute-time}, which learn what each period of the log was like).
     */
    public boolean readsRequestTime() {
        return graph("encode").inputs().contains(EncodeInputs.REQUEST_TIME);
    }

    /** Whether the encode graph reads the events' ages itself (the time-bucket bias, absolute time), beyond the rotary rows. */
    public boolean readsHistoryAges() {
        return graph("encode").inputs().contains(EncodeInputs.HISTORY_AGE_SECONDS);
    }

    public boolean hasGraph(String name) {
        return graphs != null && graphs.containsKey(name);
    }

    public GraphSpec graph(String name) {
        GraphSpec spec = graphs == null ? null : graphs.get(name);
        if (spec == null) {
            throw new BundleFormatException("manifest.json declares no [" + name + "] graph");
        }
        return spec;
    }
}
