package org.genrec.plugin.query;

import org.apache.lucene.search.Query;
import org.apache.lucene.util.SetOnce;
import org.genrec.plugin.GenrecServices;
import org.genrec.runtime.UserEncoding;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.encoding.HistoryEvent;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.index.query.QueryRewriteContext;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.threadpool.ThreadPool;

import java.io.IOException;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The {@code genrec} query: personalized kNN retrieval with the model's user embedding, then the
 * model's ranking head over the retrieved items.
 *
 * <p>Lifecycle (as neural-search does it): on the coordinating node {@link #doRewrite} encodes the
 * request once, off the network thread, and the rewritten builder carries the resulting
 * {@link UserEncoding} (embedding + history cache) to every shard. Shards never see the history
 * through the model again; they only run kNN and one batched ranking call
 * ({@link GenrecLuceneQueryFactory}).
 */
public final class GenrecQueryBuilder extends AbstractQueryBuilder<GenrecQueryBuilder> {

    public static final String NAME = "genrec";
    public static final int DEFAULT_K = 100;
    public static final int MAX_K = 10_000;
    public static final String DEFAULT_ITEM_ID_FIELD = "item_id";

    private final GenrecServices services;
    private final String model;
    private final String vectorField;
    private final String itemIdField;
    private final List<HistoryEvent> history;
    private final String queryText;
    private final int k;
    private final Long requestTime;
    private final boolean excludeHistory;
    private final boolean rank;
    /** Set by the coordinator rewrite; null before it. */
    private final UserEncoding encoding;
    /** Transient, coordinator only: the async encoding in flight. */
    private final Supplier<UserEncoding> pendingEncoding;

    public GenrecQueryBuilder(
        GenrecServices services,
        String model,
        String vectorField,
        String itemIdField,
        List<HistoryEvent> history,
        String queryText,
        int k,
        Long requestTime,
        boolean excludeHistory,
        boolean rank
    ) {
        this(services, model, vectorField, itemIdField, history, queryText, k, requestTime, excludeHistory, rank, null, null);
    }

    private GenrecQueryBuilder(
        GenrecServices services,
        String model,
        String vectorField,
        String itemIdField,
        List<HistoryEvent> history,
        String queryText,
        int k,
        Long requestTime,
        boolean excludeHistory,
        boolean rank,
        UserEncoding encoding,
        Supplier<UserEncoding> pendingEncoding
    ) {
        this.services = Objects.requireNonNull(services);
        if (model == null || model.isEmpty()) {
            throw new IllegalArgumentException("[" + NAME + "] requires [model]");
        }
        if (vectorField == null || vectorField.isEmpty()) {
            throw new IllegalArgumentException("[" + NAME + "] requires [vector_field]");
        }
        if (k < 1 || k > MAX_K) {
            throw new IllegalArgumentException("[" + NAME + "] [k] must be between 1 and " + MAX_K + ", got " + k);
        }
        this.model = model;
        this.vectorField = vectorField;
        this.itemIdField = itemIdField == null ? DEFAULT_ITEM_ID_FIELD : itemIdField;
        this.history = List.copyOf(history);
        this.queryText = queryText;
        this.k = k;
        this.requestTime = requestTime;
        this.excludeHistory = excludeHistory;
        this.rank = rank;
        this.encoding = encoding;
        this.pendingEncoding = pendingEncoding;
    }

    public GenrecQueryBuilder(StreamInput in, GenrecServices services) throws IOException {
        super(in);
        this.services = services;
        this.model = in.readString();
        this.vectorField = in.readString();
        this.itemIdField = in.readString();
        this.history = WireFormat.readHistory(in);
        this.queryText = in.readOptionalString();
        this.k = in.readVInt();
        this.requestTime = in.readOptionalLong();
        this.excludeHistory = in.readBoolean();
        this.rank = in.readBoolean();
        this.encoding = WireFormat.readEncoding(in);
        this.pendingEncoding = null;
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        if (pendingEncoding != null && encoding == null) {
            throw new IllegalStateException("genrec query serialized before its encoding finished");
        }
        out.writeString(model);
        out.writeString(vectorField);
        out.writeString(itemIdField);
        WireFormat.writeHistory(out, history);
        out.writeOptionalString(queryText);
        out.writeVInt(k);
        out.writeOptionalLong(requestTime);
        out.writeBoolean(excludeHistory);
        out.writeBoolean(rank);
        WireFormat.writeEncoding(out, encoding);
    }

    @Override
    protected void doXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(NAME);
        builder.field(GenrecQueryParser.MODEL.getPreferredName(), model);
        builder.field(GenrecQueryParser.VECTOR_FIELD.getPreferredName(), vectorField);
        builder.field(GenrecQueryParser.ITEM_ID_FIELD.getPreferredName(), itemIdField);
        builder.startArray(GenrecQueryParser.HISTORY.getPreferredName());
        for (HistoryEvent e : history) {
            builder.startObject().field("item", e.itemId()).field("action", e.action()).field("time", e.timeSeconds());
            if (e.query() != null) {
                builder.field("query", e.query());
            }
            builder.endObject();
        }
        builder.endArray();
        if (queryText != null) {
            builder.field(GenrecQueryParser.QUERY.getPreferredName(), queryText);
        }
        builder.field(GenrecQueryParser.K.getPreferredName(), k);
        if (requestTime != null) {
            builder.field(GenrecQueryParser.REQUEST_TIME.getPreferredName(), requestTime);
        }
        builder.field(GenrecQueryParser.EXCLUDE_HISTORY.getPreferredName(), excludeHistory);
        builder.field(GenrecQueryParser.RANK.getPreferredName(), rank);
        printBoostAndQueryName(builder);
        builder.endObject();
    }

    @Override
    protected QueryBuilder doRewrite(QueryRewriteContext context) throws IOException {
        if (encoding != null) {
            return this;
        }
        if (pendingEncoding != null) {
            UserEncoding done = pendingEncoding.get();
            return done == null ? this : withEncoding(done, null);
        }
        if (context.convertToShardContext() != null) {
            // Only reached when no coordinator rewrite happened (e.g. the validate API): encode here.
            return withEncoding(encodeNow(), null);
        }
        SetOnce<UserEncoding> result = new SetOnce<>();
        long now = System.currentTimeMillis() / 1000;
        context.registerAsyncAction((client, listener) -> client.threadPool().executor(ThreadPool.Names.SEARCH).execute(() -> {
            try {
                result.set(encodeNow(now));
                listener.onResponse(null);
            } catch (Exception e) {
                listener.onFailure(e);
            }
        }));
        return withEncoding(null, result::get);
    }

    private UserEncoding encodeNow() {
        return encodeNow(System.currentTimeMillis() / 1000);
    }

    private UserEncoding encodeNow(long nowSeconds) {
        long time = requestTime != null ? requestTime : nowSeconds;
        return services.models().get(model).encode(new GenrecRequest(history, queryText, time));
    }

    private GenrecQueryBuilder withEncoding(UserEncoding done, Supplier<UserEncoding> pending) {
        GenrecQueryBuilder copy = new GenrecQueryBuilder(
            services, model, vectorField, itemIdField, history, queryText, k, requestTime, excludeHistory, rank, done, pending
        );
        copy.boost(boost());
        copy.queryName(queryName());
        return copy;
    }

    @Override
    protected Query doToQuery(QueryShardContext context) throws IOException {
        if (encoding == null) {
            throw new IllegalStateException("genrec query reached a shard without its encoding; it must be rewritten first");
        }
        return new GenrecLuceneQueryFactory(context, services).create(this);
    }

    @Override
    protected boolean doEquals(GenrecQueryBuilder other) {
        return model.equals(other.model)
            && vectorField.equals(other.vectorField)
            && itemIdField.equals(other.itemIdField)
            && history.equals(other.history)
            && Objects.equals(queryText, other.queryText)
            && k == other.k
            && Objects.equals(requestTime, other.requestTime)
            && excludeHistory == other.excludeHistory
            && rank == other.rank
            && encodingEquals(encoding, other.encoding);
    }

    private static boolean encodingEquals(UserEncoding a, UserEncoding b) {
        if (a == null || b == null) {
            return a == b;
        }
        return java.util.Arrays.equals(a.embedding(), b.embedding()) && java.util.Arrays.equals(a.cacheKeys(), b.cacheKeys());
    }

    @Override
    protected int doHashCode() {
        return Objects.hash(model, vectorField, itemIdField, history, queryText, k, requestTime, excludeHistory, rank,
            encoding == null ? 0 : java.util.Arrays.hashCode(encoding.embedding()));
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }

    public String model() {
        return model;
    }

    public String vectorField() {
        return vectorField;
    }

    public String itemIdField() {
        return itemIdField;
    }

    public List<HistoryEvent> history() {
        return history;
    }

    public String queryText() {
        return queryText;
    }

    public int k() {
        return k;
    }

    public Long requestTime() {
        return requestTime;
    }

    public boolean excludeHistory() {
        return excludeHistory;
    }

    public boolean rank() {
        return rank;
    }

    public UserEncoding encoding() {
        return encoding;
    }
}
