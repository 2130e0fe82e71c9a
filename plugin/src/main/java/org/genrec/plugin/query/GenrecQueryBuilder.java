package org.genrec.plugin.query;

import org.apache.lucene.search.Query;
import org.genrec.plugin.GenrecServices;
import org.genrec.runtime.GenrecModel;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.index.query.QueryRewriteContext;
import org.opensearch.index.query.QueryShardContext;

import java.io.IOException;
import java.util.Objects;

/**
 * The {@code genrec} query: personalized kNN retrieval with the model's user embedding, then the
 * model's ranking head over the retrieved items.
 *
 * <p>Lifecycle (as neural-search does it): on the coordinating node {@link #doRewrite} resolves the
 * {@link UserContext} once — history lookup, then encoding, off the network thread — and the
 * rewritten builder carries the encoding (embedding + history cache) to every shard. Shards never
 * run the history through the model again; they run kNN and one batched ranking call
 * ({@link GenrecLuceneQueryFactory}).
 */
public final class GenrecQueryBuilder extends AbstractQueryBuilder<GenrecQueryBuilder> {

    public static final String NAME = "genrec";
    public static final int DEFAULT_K = 100;
    public static final int MAX_K = 10_000;
    public static final String DEFAULT_ITEM_ID_FIELD = "item_id";

    private final GenrecServices services;
    private final UserContext user;
    private final String vectorField;
    private final String itemIdField;
    private final int k;
    private final QueryBuilder filter;
    private final boolean excludeHistory;
    private final boolean rank;
    /** HNSW candidates per shard; the best k of them are kept. Null = k. */
    private Integer numCandidates;
    /** How many of the k hits (best retrieval first) the ranking head scores. Null = k. */
    private Integer rankWindow;
    /** The ranking score's weight of the retrieval similarity (RankingScores). Null = the bundle's. */
    private Float retrievalWeight;
    /** The ranking score's weight of the co-occurrence term (RankingScores). Null = the bundle's. */
    private Float coOccurrenceWeight;
    /** Where a ranked item the model was not trained on has its text. */
    private ItemTextFields itemTextFields = ItemTextFields.DEFAULT;

    public GenrecQueryBuilder(
        GenrecServices services,
        UserContext user,
        String vectorField,
        String itemIdField,
        int k,
        QueryBuilder filter,
        boolean excludeHistory,
        boolean rank
    ) {
        this.services = Objects.requireNonNull(services);
        this.user = Objects.requireNonNull(user);
        if (vectorField == null || vectorField.isEmpty()) {
            throw new IllegalArgumentException("[" + NAME + "] requires [vector_field]");
        }
        if (k < 1 || k > MAX_K) {
            throw new IllegalArgumentException("[" + NAME + "] [k] must be between 1 and " + MAX_K + ", got " + k);
        }
        this.vectorField = vectorField;
        this.itemIdField = itemIdField == null ? DEFAULT_ITEM_ID_FIELD : itemIdField;
        this.k = k;
        this.filter = filter;
        this.excludeHistory = excludeHistory;
        this.rank = rank;
    }

    public GenrecQueryBuilder(StreamInput in, GenrecServices services) throws IOException {
        super(in);
        this.services = services;
        this.user = new UserContext(in);
        this.vectorField = in.readString();
        this.itemIdField = in.readString();
        this.k = in.readVInt();
        this.filter = in.readOptionalNamedWriteable(QueryBuilder.class);
        this.excludeHistory = in.readBoolean();
        this.rank = in.readBoolean();
        this.numCandidates = in.readOptionalVInt();
        this.rankWindow = in.readOptionalVInt();
        this.retrievalWeight = in.readOptionalFloat();
        this.coOccurrenceWeight = in.readOptionalFloat();
        this.itemTextFields = new ItemTextFields(in);
    }

    /** Where the ranking reads the text of an item the model was not trained on (default: title and categories). */
    public GenrecQueryBuilder itemTextFields(ItemTextFields value) {
        this.itemTextFields = Objects.requireNonNull(value);
        return this;
    }

    public ItemTextFields itemTextFields() {
        return itemTextFields;
    }

    /** Candidates the HNSW search collects per shard (at least k, default k); more means higher recall, slower. */
    public GenrecQueryBuilder numCandidates(Integer value) {
        if (value != null && (value < k || value > MAX_K)) {
            throw new IllegalArgumentException("[" + NAME + "] [num_candidates] must be between k (" + k + ") and " + MAX_K + ", got " + value);
        }
        this.numCandidates = value;
        return this;
    }

    /** Ranks only the best {@code value} hits by retrieval score (default: all k); the others follow them. */
    public GenrecQueryBuilder rankWindow(Integer value) {
        if (value != null && (value < 1 || value > k)) {
            throw new IllegalArgumentException("[" + NAME + "] [rank.window] must be between 1 and k (" + k + "), got " + value);
        }
        this.rankWindow = value;
        return this;
    }

    /**
     * How much the retrieval similarity counts in a ranked hit's score (RankingScores); default: the
     * model bundle's {@code ranking.retrieval_weight}, chosen by the trainer on validation; 0: the ranking head alone.
     */
    public GenrecQueryBuilder retrievalWeight(Float value) {
        this.retrievalWeight = ServedBlend.checkWeight("[" + NAME + "] [rank.retrieval_weight]", value);
        return this;
    }

    /**
     * How much the co-occurrence term counts in a ranked hit's score (RankingScores); default: the model
     * bundle's {@code ranking.co_occurrence_weight} (0 for a bundle without counts); 0: no such term.
     */
    public GenrecQueryBuilder coOccurrenceWeight(Float value) {
        this.coOccurrenceWeight = ServedBlend.checkWeight("[" + NAME + "] [rank.co_occurrence_weight]", value);
        return this;
    }

    /** The served order's weights with {@code model}: the query's, else the bundle's. */
    public ServedBlend servedBlendFor(GenrecModel model) {
        return ServedBlend.of(retrievalWeight, coOccurrenceWeight, model);
    }

    public int numCandidates() {
        return numCandidates == null ? k : numCandidates;
    }

    public int rankWindow() {
        return rankWindow == null ? k : rankWindow;
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        (rank ? user : user.retrievalOnly()).writeTo(out); // shards that only retrieve need the embedding, not the history cache
        out.writeString(vectorField);
        out.writeString(itemIdField);
        out.writeVInt(k);
        out.writeOptionalNamedWriteable(filter);
        out.writeBoolean(excludeHistory);
        out.writeBoolean(rank);
        out.writeOptionalVInt(numCandidates);
        out.writeOptionalVInt(rankWindow);
        out.writeOptionalFloat(retrievalWeight);
        out.writeOptionalFloat(coOccurrenceWeight);
        itemTextFields.writeTo(out);
    }

    @Override
    protected void doXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(NAME);
        user.toXContentFields(builder);
        builder.field(GenrecQueryParser.VECTOR_FIELD.getPreferredName(), vectorField);
        builder.field(GenrecQueryParser.ITEM_ID_FIELD.getPreferredName(), itemIdField);
        itemTextFields.toXContentFields(builder);
        builder.field(GenrecQueryParser.K.getPreferredName(), k);
        if (filter != null) {
            builder.field(GenrecQueryParser.FILTER.getPreferredName(), filter);
        }
        builder.field(GenrecQueryParser.EXCLUDE_HISTORY.getPreferredName(), excludeHistory);
        if (numCandidates != null) {
            builder.field(GenrecQueryParser.NUM_CANDIDATES.getPreferredName(), numCandidates);
        }
        builder.startObject(GenrecQueryParser.RANK.getPreferredName()).field("enabled", rank);
        if (rankWindow != null) {
            builder.field("window", rankWindow);
        }
        if (retrievalWeight != null) {
            builder.field("retrieval_weight", retrievalWeight);
        }
        if (coOccurrenceWeight != null) {
            builder.field("co_occurrence_weight", coOccurrenceWeight);
        }
        builder.endObject();
        printBoostAndQueryName(builder);
        builder.endObject();
    }

    @Override
    protected QueryBuilder doRewrite(QueryRewriteContext context) throws IOException {
        QueryBuilder rewrittenFilter = filter == null ? null : filter.rewrite(context);
        // Kept whole even when the shards do not rank: the genrec_rank search pipeline processor ranks the
        // merged hits on this node with the same encoding. What travels to the shards is trimmed in doWriteTo.
        UserContext rewrittenUser = user.rewrite(context, services, itemIdField, itemTextFields);
        if (rewrittenFilter == filter && rewrittenUser == user) {
            return this;
        }
        GenrecQueryBuilder copy = new GenrecQueryBuilder(services, rewrittenUser, vectorField, itemIdField, k, rewrittenFilter,
            excludeHistory, rank);
        copy.numCandidates = numCandidates;
        copy.rankWindow = rankWindow;
        copy.retrievalWeight = retrievalWeight;
        copy.coOccurrenceWeight = coOccurrenceWeight;
        copy.itemTextFields = itemTextFields;
        copy.boost(boost());
        copy.queryName(queryName());
        return copy;
    }

    @Override
    protected Query doToQuery(QueryShardContext context) throws IOException {
        if (user.encoding() == null) {
            throw new IllegalStateException("genrec query reached a shard without its encoding; it must be rewritten first");
        }
        return new GenrecLuceneQueryFactory(context, services).create(this);
    }

    @Override
    protected boolean doEquals(GenrecQueryBuilder other) {
        return user.equals(other.user)
            && vectorField.equals(other.vectorField)
            && itemIdField.equals(other.itemIdField)
            && k == other.k
            && Objects.equals(filter, other.filter)
            && excludeHistory == other.excludeHistory
            && rank == other.rank
            && Objects.equals(numCandidates, other.numCandidates)
            && Objects.equals(rankWindow, other.rankWindow)
            && Objects.equals(retrievalWeight, other.retrievalWeight)
            && Objects.equals(coOccurrenceWeight, other.coOccurrenceWeight)
            && itemTextFields.equals(other.itemTextFields);
    }

    @Override
    protected int doHashCode() {
        return Objects.hash(user, vectorField, itemIdField, k, filter, excludeHistory, rank, numCandidates, rankWindow, retrievalWeight,
            coOccurrenceWeight, itemTextFields);
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }

    public UserContext user() {
        return user;
    }

    public String vectorField() {
        return vectorField;
    }

    public String itemIdField() {
        return itemIdField;
    }

    public int k() {
        return k;
    }

    public QueryBuilder filter() {
        return filter;
    }

    public boolean excludeHistory() {
        return excludeHistory;
    }

    /** Whether the shards rank their hits; false for retrieval only, or when genrec_rank ranks on the coordinating node. */
    public boolean rank() {
        return rank;
    }
}
