package org.genrec.plugin.pipeline;

import org.genrec.plugin.GenrecServices;
import org.genrec.plugin.query.GenrecQueryBuilder;
import org.genrec.plugin.query.ItemTexts;
import org.genrec.plugin.query.RankingScores;
import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.UserEncoding;
import org.opensearch.action.search.SearchRequest;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.action.search.SearchResponseSections;
import org.opensearch.common.document.DocumentField;
import org.opensearch.core.action.ActionListener;
import org.opensearch.search.SearchHit;
import org.opensearch.search.SearchHits;
import org.opensearch.search.SearchService;
import org.opensearch.search.builder.SearchSourceBuilder;
import org.opensearch.search.pipeline.AbstractProcessor;
import org.opensearch.search.pipeline.PipelineProcessingContext;
import org.opensearch.search.pipeline.Processor;
import org.opensearch.search.pipeline.SearchResponseProcessor;
import org.opensearch.search.profile.SearchProfileShardResults;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * {@code genrec_rank}, a search response processor: ranks the merged top window of a {@code genrec}
 * query once, on the coordinating node, instead of once on every shard.
 *
 * <p>The query says {@code "rank": {"enabled": false, "window": W}}: the shards only retrieve, and
 * only the embedding travels to them, not the history's key/value cache. The coordinating node's
 * rewrite already encoded the history, and the rewritten query stays in the request this processor
 * receives; so it scores the first W merged hits in one call against that encoding - the history is
 * still encoded once per request. It pays one score call per request whatever the shard count and
 * ships no cache, at the price of ranking only what the shards' retrieval put in the merged top W
 * (shard-side ranking ranks each shard's own top W). Item ids come from the hits' {@code _source}
 * or {@code docvalue_fields}.
 */
public final class CoordinatorRankingProcessor extends AbstractProcessor implements SearchResponseProcessor {

    public static final String TYPE = "genrec_rank";

    private final GenrecServices services;
    /** The search thread pool: the response may complete on a network thread, which must not run the model. */
    private final Executor searchPool;

    CoordinatorRankingProcessor(String tag, String description, boolean ignoreFailure, GenrecServices services, Executor searchPool) {
        super(tag, description, ignoreFailure);
        this.services = services;
        this.searchPool = searchPool;
    }

    @Override
    public String getType() {
        return TYPE;
    }

    @Override
    public void processResponseAsync(SearchRequest request, SearchResponse response, PipelineProcessingContext context,
        ActionListener<SearchResponse> listener) {
        Runnable rank = () -> {
            SearchResponse ranked;
            try {
                ranked = processResponse(request, response);
            } catch (Exception e) {
                listener.onFailure(e);
                return;
            }
            listener.onResponse(ranked);
        };
        try {
            searchPool.execute(rank);
        } catch (RejectedExecutionException e) {
            listener.onFailure(e); // the search queue is full: 429, as for any search it turns away
        }
    }

    @Override
    public SearchResponse processResponse(SearchRequest request, SearchResponse response) {
        GenrecQueryBuilder query = genrecQuery(request.source());
        SearchHit[] hits = response.getHits().getHits();
        int window = Math.min(query.rankWindow(), hits.length);
        if (window == 0) {
            return response;
        }
        UserEncoding user = query.user().encoding();
        GenrecModel model = services.models().get(query.user().model());
        long[] indices = new long[window];
        for (int i = 0; i < window; i++) {
            indices[i] = Math.max(0, model.bundle().items().indexOf(itemId(hits[i], query.itemIdField())));
        }
        float[] scores = RankingScores.scores(model, user, indices, ItemTexts.ofUnknown(hits, indices, model, query.itemTextFields()),
            query.servedBlendFor(model));
        float lowest = 1f;
        for (int i = 0; i < window; i++) {
            if (!Float.isNaN(scores[i])) {
                lowest = Math.min(lowest, scores[i]);
            }
        }
        float highest = 0f;
        for (int i = 0; i < hits.length; i++) { // after the window, and in it the items the model cannot rank
            hits[i].score(i < window && !Float.isNaN(scores[i]) ? scores[i] : RankingScores.afterWindow(lowest, hits[i].getScore()));
            highest = Math.max(highest, hits[i].getScore());
        }
        SearchHit[] ranked = hits.clone();
        Arrays.sort(ranked, 0, window, Comparator.comparingDouble(SearchHit::getScore).reversed()); // stable: ties keep retrieval order
        return withHits(response, new SearchHits(ranked, response.getHits().getTotalHits(), highest));
    }

    /** The request's top-level genrec query, rewritten on this node (so it holds the encoding), with what ranking here needs. */
    private static GenrecQueryBuilder genrecQuery(SearchSourceBuilder source) {
        if (source == null || !(source.query() instanceof GenrecQueryBuilder query)) {
            throw new IllegalArgumentException("[" + TYPE + "] ranks the hits of a [genrec] query; the request's top-level query is "
                + (source == null || source.query() == null ? "missing" : "[" + source.query().getName() + "]"));
        }
        if (query.rank()) {
            throw new IllegalArgumentException("[" + TYPE + "] ranks on the coordinating node, but the [genrec] query already ranks on the"
                + " shards: set [rank.enabled] to false in the query");
        }
        if (query.user().encoding() == null || !query.user().encoding().hasCache()) {
            throw new IllegalStateException("[" + TYPE + "] found the [genrec] query without its history encoding: it must run as a"
                + " response processor of the search that rewrote the query");
        }
        int size = source.size() < 0 ? SearchService.DEFAULT_SIZE : source.size();
        if (source.from() > 0 || size < query.rankWindow()) {
            throw new IllegalArgumentException("[" + TYPE + "] ranks the merged top [rank.window] = " + query.rankWindow()
                + " hits, so the response must hold them: set [from] to 0 and [size] to at least " + query.rankWindow()
                + " (got from " + Math.max(0, source.from()) + ", size " + size + ")");
        }
        return query;
    }

    private static String itemId(SearchHit hit, String field) {
        DocumentField docValue = hit.field(field);
        if (docValue != null && docValue.getValue() != null) {
            return docValue.getValue().toString();
        }
        Map<String, Object> source = hit.hasSource() ? hit.getSourceAsMap() : null;
        Object value = source == null ? null : source.get(field);
        if (value == null) {
            throw new IllegalArgumentException("[" + TYPE + "] reads each hit's item id from [" + field + "] in _source or"
                + " docvalue_fields; hit [" + hit.getId() + "] has neither");
        }
        return value.toString();
    }

    private static SearchResponse withHits(SearchResponse response, SearchHits hits) {
        SearchResponseSections sections = new SearchResponseSections(hits, response.getAggregations(), response.getSuggest(),
            response.isTimedOut(), response.isTerminatedEarly(), new SearchProfileShardResults(response.getProfileResults()),
            response.getNumReducePhases(), response.getInternalResponse().getSearchExtBuilders(),
            response.getInternalResponse().getProcessorResult());
        return new SearchResponse(sections, response.getScrollId(), response.getTotalShards(), response.getSuccessfulShards(),
            response.getSkippedShards(), response.getTook().millis(), response.getPhaseTook(), response.getShardFailures(),
            response.getClusters(), response.pointInTimeId());
    }

    /** {@code "genrec_rank": {}}: no options; the window, item id field and model come from the query. */
    public static final class Factory implements Processor.Factory<SearchResponseProcessor> {

        private final GenrecServices services;
        private final Executor searchPool;

        public Factory(GenrecServices services, Executor searchPool) {
            this.services = services;
            this.searchPool = searchPool;
        }

        @Override
        public SearchResponseProcessor create(Map<String, Processor.Factory<SearchResponseProcessor>> processorFactories, String tag,
            String description, boolean ignoreFailure, Map<String, Object> config, PipelineContext pipelineContext) {
            if (!config.isEmpty()) {
                throw new IllegalArgumentException("[" + TYPE + "] takes no options (the query's [rank.window] and [item_id_field] apply),"
                    + " got " + config.keySet());
            }
            return new CoordinatorRankingProcessor(tag, description, ignoreFailure, services, searchPool);
        }
    }
}
