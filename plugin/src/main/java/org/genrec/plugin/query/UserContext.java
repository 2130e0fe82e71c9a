package org.genrec.plugin.query;

import org.apache.lucene.util.SetOnce;
import org.genrec.plugin.GenrecServices;
import org.genrec.plugin.model.ModelRegistry;
import org.genrec.runtime.UserEncoding;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.encoding.HistoryEvent;
import org.genrec.runtime.encoding.ItemText;
import org.opensearch.action.search.SearchRequest;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.index.query.QueryCoordinatorContext;
import org.opensearch.index.query.QueryRewriteContext;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.client.Client;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * Who the model is asked about, shared by the {@code genrec} query and rescorer: model name, the
 * history (given inline, or looked up by {@code user} in an events index), the optional search
 * text and the request time; after {@link #rewrite} also the {@link UserEncoding}.
 *
 * <p>The rewrite runs on the coordinating node: the lookup and the encoding happen once per
 * search request, on the search thread pool, and the result travels to the shards.
 */
public final class UserContext {

    /**
     * {@code "user": {"index": "events", "id": "42", "events": 1000}}: read the user's latest {@code events} events from that
     * index (default: the model's max_history). The model encodes the latest max_history of them; {@code exclude_history}
     * leaves out the items of all of them, as it does for an inline history of any length.
     */
    public record UserRef(String index, String id, Integer events) {

        /** At most what a search may return by default ({@code index.max_result_window}). */
        public static final int MAX_EVENTS = 10_000;

        public UserRef {
            if (events != null && (events < 1 || events > MAX_EVENTS)) {
                throw new IllegalArgumentException("[user.events] must be between 1 and " + MAX_EVENTS + ", got " + events);
            }
        }

        public UserRef(String index, String id) {
            this(index, id, null);
        }
    }

    private final String model;
    private final List<HistoryEvent> history;
    private final UserRef user;
    private final String queryText;
    private final Long requestTime;
    private final UserEncoding encoding;
    /** Random, drawn when the encoding is made: tells the phases of one search request apart from other requests. */
    private final long encodingId;
    private final Supplier<Resolved> pending;

    /** The looked-up history, its encoding, and the model pinned as NAME@VERSION so that every shard uses the same one. */
    private record Resolved(String pinnedModel, List<HistoryEvent> history, UserEncoding encoding, long encodingId) {
        Resolved(String pinnedModel, List<HistoryEvent> history, UserEncoding encoding) {
            this(pinnedModel, history, encoding, ThreadLocalRandom.current().nextLong());
        }
    }

    public UserContext(String model, List<HistoryEvent> history, UserRef user, String queryText, Long requestTime) {
        this(model, history, user, queryText, requestTime, null, 0L, null);
    }

    private UserContext(
        String model,
        List<HistoryEvent> history,
        UserRef user,
        String queryText,
        Long requestTime,
        UserEncoding encoding,
        long encodingId,
        Supplier<Resolved> pending
    ) {
        if (model == null || model.isEmpty()) {
            throw new IllegalArgumentException("[model] is required");
        }
        if (user != null && !history.isEmpty()) {
            throw new IllegalArgumentException("give either [history] or [user], not both");
        }
        if (user != null && (user.index() == null || user.id() == null)) {
            throw new IllegalArgumentException("[user] needs [index] and [id]");
        }
        this.model = model;
        this.history = List.copyOf(history);
        this.user = user;
        this.queryText = queryText;
        this.requestTime = requestTime;
        this.encoding = encoding;
        this.encodingId = encodingId;
        this.pending = pending;
    }

    public UserContext(StreamInput in) throws IOException {
        this.model = in.readString();
        this.history = WireFormat.readHistory(in);
        this.user = in.readBoolean() ? new UserRef(in.readString(), in.readString(), in.readOptionalVInt()) : null;
        this.queryText = in.readOptionalString();
        this.requestTime = in.readOptionalLong();
        this.encoding = WireFormat.readEncoding(in);
        this.encodingId = in.readLong();
        this.pending = null;
    }

    public void writeTo(StreamOutput out) throws IOException {
        if (pending != null && encoding == null) {
            throw new IllegalStateException("genrec request serialized before its encoding finished");
        }
        out.writeString(model);
        WireFormat.writeHistory(out, history);
        out.writeBoolean(user != null);
        if (user != null) {
            out.writeString(user.index());
            out.writeString(user.id());
            out.writeOptionalVInt(user.events());
        }
        out.writeOptionalString(queryText);
        out.writeOptionalLong(requestTime);
        WireFormat.writeEncoding(out, encoding);
        out.writeLong(encodingId);
    }

    /** The fields of this context inside the caller's object. */
    public void toXContentFields(XContentBuilder builder) throws IOException {
        builder.field("model", model);
        if (user != null) {
            builder.startObject("user").field("index", user.index()).field("id", user.id());
            if (user.events() != null) {
                builder.field("events", user.events());
            }
            builder.endObject();
        } else {
            builder.startArray("history");
            for (HistoryEvent e : history) {
                builder.startObject().field("item", e.itemId()).field("action", e.action()).field("time", e.timeSeconds());
                if (e.query() != null) {
                    builder.field("query", e.query());
                }
                if (e.itemText() != null) {
                    builder.startObject("item_text").field("title", e.itemText().title()).field("categories", e.itemText().categories())
                        .endObject();
                }
                builder.endObject();
            }
            builder.endArray();
        }
        if (queryText != null) {
            builder.field("query", queryText);
        }
        if (requestTime != null) {
            builder.field("request_time", requestTime);
        }
    }

    /**
     * On the coordinating node: registers the (lookup and) encoding as an async action and returns
     * a context that resolves once it has run; {@code this} when nothing is left to do. {@code itemIdField} and
     * {@code textFields}: where the searched items keep their ids and text, which a history item added after training
     * is read by ({@link NewHistoryItems}).
     */
    public UserContext rewrite(QueryRewriteContext context, GenrecServices services, String itemIdField, ItemTextFields textFields) {
        if (encoding != null) {
            return this;
        }
        if (pending != null) {
            Resolved done = pending.get();
            return done == null ? this
                : new UserContext(done.pinnedModel(), done.history(), null, queryText, requestTime, done.encoding(), done.encodingId(), null);
        }
        long now = System.currentTimeMillis() / 1000;
        if (context.convertToShardContext() != null) {
            // Only reached when no coordinator rewrite happened (e.g. the validate API).
            if (user != null) {
                throw new IllegalArgumentException("[user] history lookup needs a search request (it runs on the coordinating node)");
            }
            ModelRegistry.Loaded loaded = services.models().resolve(model);
            Resolved done = new Resolved(loaded.pinned(), history, encode(loaded, history, now));
            return new UserContext(done.pinnedModel(), history, null, queryText, requestTime, done.encoding(), done.encodingId(), null);
        }
        QueryCoordinatorContext coordinator = context.convertToCoordinatorContext();
        NewHistoryItems.Source items = coordinator == null || coordinator.getSearchRequest() == null ? null
            : new NewHistoryItems.Source(coordinator.getSearchRequest().indices(), itemIdField, textFields);
        SetOnce<Resolved> result = new SetOnce<>();
        context.registerAsyncAction((client, listener) -> onSearchPool(client, listener, () -> {
            ModelRegistry.Loaded loaded = services.models().resolve(model);
            CheckedConsumer<List<HistoryEvent>> encodeHistory = events -> readNewItems(client, listener, loaded, services.newItemTexts(),
                events, items, read -> {
                    result.set(new Resolved(loaded.pinned(), read, encode(loaded, read, now)));
                    listener.onResponse(null);
                });
            if (user == null) {
                encodeHistory.accept(history);
                return;
            }
            SearchRequest lookup = EventsLookup.request(user, loaded.model().manifest().maxHistory(), requestTime);
            long lookupStart = System.nanoTime();
            client.search(lookup, ActionListener.wrap(response -> onSearchPool(client, listener, () -> {
                List<HistoryEvent> events;
                try {
                    events = EventsLookup.events(response, user);
                } catch (RuntimeException e) {
                    loaded.lookups().recordFailure();
                    throw e;
                }
                loaded.lookups().record(System.nanoTime() - lookupStart, events.size());
                encodeHistory.accept(events);
            }), e -> {
                loaded.lookups().recordFailure();
                listener.onFailure(e);
            }));
        }));
        return new UserContext(model, history, user, queryText, requestTime, null, 0L, result::get);
    }

    private static void onSearchPool(Client client, ActionListener<?> listener, CheckedRunnable task) {
        client.threadPool().executor(ThreadPool.Names.SEARCH).execute(() -> {
            try {
                task.run();
            } catch (Exception e) {
                listener.onFailure(e);
            }
        });
    }

    private interface CheckedRunnable {
        void run() throws Exception;
    }

    private interface CheckedConsumer<T> {
        void accept(T value) throws Exception;
    }

    /**
     * Then {@code next} with the history's items added after training given their text from the searched items (held in
     * {@code cache}, else searched for), when the model reads such items by their text and the history holds some; else with
     * the history as it is.
     */
    private static void readNewItems(Client client, ActionListener<?> listener, ModelRegistry.Loaded loaded, NewItemTextCache cache,
        List<HistoryEvent> events, NewHistoryItems.Source items, CheckedConsumer<List<HistoryEvent>> next) throws Exception {
        Set<String> unread = items == null ? Set.of() : NewHistoryItems.unread(events, loaded.model());
        if (unread.isEmpty()) {
            next.accept(events);
            return;
        }
        NewItemTextCache.Lookup cached = cache.lookup(items, unread);
        if (cached.toSearch().isEmpty()) {
            next.accept(NewHistoryItems.withTexts(events, cached.texts()));
            return;
        }
        client.search(NewHistoryItems.request(items, cached.toSearch()), ActionListener.wrap(response -> onSearchPool(client, listener, () -> {
            Map<String, ItemText> texts = NewHistoryItems.texts(response, items);
            cache.remember(items, cached.toSearch(), texts);
            texts.putAll(cached.texts());
            next.accept(NewHistoryItems.withTexts(events, texts));
        }), listener::onFailure));
    }

    private UserEncoding encode(ModelRegistry.Loaded loaded, List<HistoryEvent> events, long nowSeconds) {
        long time = requestTime != null ? requestTime : nowSeconds;
        return loaded.model().encode(new GenrecRequest(events, queryText, time));
    }

    /** As the request named it; after rewrite, pinned as NAME@VERSION. */
    public String model() {
        return model;
    }

    /** The history: as given, or, after rewrite, the looked-up events. */
    public List<HistoryEvent> history() {
        return history;
    }

    public UserRef user() {
        return user;
    }

    public String queryText() {
        return queryText;
    }

    public Long requestTime() {
        return requestTime;
    }

    /** Null until the coordinator rewrite has run. */
    public UserEncoding encoding() {
        return encoding;
    }

    public long encodingId() {
        return encodingId;
    }

    /** This context for a query that only retrieves: its encoding without the history cache ({@link UserEncoding#withoutCache()}). */
    public UserContext retrievalOnly() {
        if (encoding == null || !encoding.hasCache()) {
            return this;
        }
        return new UserContext(model, history, user, queryText, requestTime, encoding.withoutCache(), encodingId, null);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof UserContext that)) {
            return false;
        }
        return model.equals(that.model)
            && history.equals(that.history)
            && Objects.equals(user, that.user)
            && Objects.equals(queryText, that.queryText)
            && Objects.equals(requestTime, that.requestTime)
            && (encoding == null ? that.encoding == null
                : that.encoding != null && java.util.Arrays.equals(encoding.embedding(), that.encoding.embedding()));
    }

    @Override
    public int hashCode() {
        return Objects.hash(model, history, user, queryText, requestTime);
    }
}
