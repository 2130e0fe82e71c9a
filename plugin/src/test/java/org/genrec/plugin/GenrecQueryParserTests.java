package org.genrec.plugin;

import org.genrec.plugin.model.ModelRegistry;
import org.genrec.plugin.query.GenrecQueryBuilder;
import org.genrec.plugin.query.GenrecQueryParser;
import org.genrec.plugin.query.ItemTextFields;
import org.genrec.plugin.query.KnnQueryBuilder;
import org.genrec.plugin.query.NewItemTextCache;
import org.genrec.plugin.query.RankedHitsCache;
import org.genrec.plugin.query.ServedBlend;
import org.genrec.plugin.rescore.GenrecRescorerBuilder;
import org.genrec.runtime.encoding.HistoryEvent;
import org.genrec.runtime.encoding.ItemText;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.json.JsonXContent;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.common.io.stream.NamedWriteableRegistry;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.core.xcontent.ToXContent;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.query.TermQueryBuilder;
import org.opensearch.search.SearchModule;
import org.opensearch.test.OpenSearchTestCase;

import java.io.IOException;
import java.util.List;

/** Parsing, XContent and transport round trips of the genrec query and rescorer, and every malformed input. */
public class GenrecQueryParserTests extends OpenSearchTestCase {

    private static final SearchModule SEARCH = new SearchModule(Settings.EMPTY, List.of());

    private GenrecServices services() {
        return new GenrecServices(new ModelRegistry(createTempDir(), ExecutionProvider.CPU), new RankedHitsCache(),
            new NewItemTextCache(NewItemTextCache.DEFAULT_TTL, NewItemTextCache.DEFAULT_MAX_ENTRIES));
    }

    @Override
    protected NamedXContentRegistry xContentRegistry() {
        return new NamedXContentRegistry(SEARCH.getNamedXContents());
    }

    private GenrecQueryBuilder parse(GenrecServices services, String json) throws IOException {
        try (XContentParser parser = createParser(JsonXContent.jsonXContent, json)) {
            parser.nextToken();
            return GenrecQueryParser.parse(parser, services);
        }
    }

    private static final String FULL = """
        {"model": "recs", "vector_field": "item_vector", "item_id_field": "sku", "title_field": "name", "categories_field": "genres",
         "history": [{"item": "i1", "action": "click", "time": 978300760},
                     {"item": "i2", "action": "purchase", "time": "2000-12-31T22:12:41Z", "query": "red shoes"},
                     {"item": "new-3", "action": "click", "time": 978300762, "item_text": {"title": "Blue Suede", "categories": ["shoes"]}}],
         "query": "blue", "k": 50, "request_time": "2001-01-01T00:00:00Z",
         "filter": {"term": {"genres": "Sci-Fi"}}, "exclude_history": false, "rank": {"enabled": false, "window": 20, "retrieval_weight": 7.5, "co_occurrence_weight": 2.5},
         "num_candidates": 80, "boost": 2.0, "_name": "personal"}""";

    public void testParsesEveryField() throws IOException {
        GenrecQueryBuilder b = parse(services(), FULL);
        assertEquals("recs", b.user().model());
        assertEquals("item_vector", b.vectorField());
        assertEquals("sku", b.itemIdField());
        assertEquals(new ItemTextFields("name", "genres"), b.itemTextFields());
        assertEquals(List.of(new HistoryEvent("i1", "click", 978300760L, null), new HistoryEvent("i2", "purchase", 978300761L, "red shoes"),
            new HistoryEvent("new-3", "click", 978300762L, null, new ItemText("Blue Suede", List.of("shoes")))), b.user().history());
        assertEquals("blue", b.user().queryText());
        assertEquals(50, b.k());
        assertEquals(Long.valueOf(978307200L), b.user().requestTime());
        assertEquals(new TermQueryBuilder("genres", "Sci-Fi"), b.filter());
        assertFalse(b.excludeHistory());
        assertFalse(b.rank());
        assertEquals(20, b.rankWindow());
        // the query's weights: the model (and its bundle's defaults) not consulted
        assertEquals(new ServedBlend(7.5f, 2.5f), b.servedBlendFor(null));
        assertEquals(80, b.numCandidates());
        assertEquals(2.0f, b.boost(), 0f);
        assertEquals("personal", b.queryName());
    }

    public void testDefaultsAndUserLookup() throws IOException {
        GenrecQueryBuilder b = parse(services(), """
            {"model": "recs", "vector_field": "v", "user": {"index": "events", "id": "6040"}}""");
        assertEquals("events", b.user().user().index());
        assertEquals("6040", b.user().user().id());
        assertNull("the model's max_history", b.user().user().events());
        assertEquals(GenrecQueryBuilder.DEFAULT_K, b.k());
        assertEquals(GenrecQueryBuilder.DEFAULT_ITEM_ID_FIELD, b.itemIdField());
        assertEquals(ItemTextFields.DEFAULT, b.itemTextFields());
        assertTrue(b.excludeHistory());
        assertTrue(b.rank());
        assertNull(b.user().queryText());
    }

    public void testXContentAndTransportRoundTrips() throws IOException {
        GenrecServices services = services();
        GenrecQueryBuilder original = parse(services, FULL);
        XContentBuilder xContent = JsonXContent.contentBuilder();
        original.toXContent(xContent, ToXContent.EMPTY_PARAMS);
        String json = xContent.toString();
        GenrecQueryBuilder reparsed = parse(services, json.substring(json.indexOf(':') + 1, json.length() - 1));
        assertEquals(original, reparsed);
        assertEquals(original.hashCode(), reparsed.hashCode());

        NamedWriteableRegistry registry = new NamedWriteableRegistry(SEARCH.getNamedWriteables());
        GenrecQueryBuilder copy = copyWriteable(original, registry, in -> new GenrecQueryBuilder(in, services));
        assertEquals(original, copy);
    }

    public void testRescorerRoundTrip() throws IOException {
        GenrecServices services = services();
        GenrecRescorerBuilder original;
        try (XContentParser parser = createParser(JsonXContent.jsonXContent, """
            {"model": "recs", "history": [{"item": "i1", "action": "click", "time": 1}], "query_weight": 0.5, "rescore_query_weight": 2,
             "title_field": "name", "retrieval_weight": 0, "co_occurrence_weight": 3}""")) {
            parser.nextToken();
            original = GenrecRescorerBuilder.fromXContent(parser, services);
        }
        original.windowSize(50);
        NamedWriteableRegistry registry = new NamedWriteableRegistry(SEARCH.getNamedWriteables());
        GenrecRescorerBuilder copy = copyWriteable(original, registry, in -> new GenrecRescorerBuilder(in, services));
        assertEquals(original, copy);
        assertNotEquals(original, copy.itemTextFields(ItemTextFields.DEFAULT)); // the text fields travel and count
        GenrecRescorerBuilder other = copyWriteable(original, registry, in -> new GenrecRescorerBuilder(in, services));
        assertNotEquals(original, other.coOccurrenceWeight(null));                // the served score's weights travel and count
        XContentBuilder xContent = JsonXContent.contentBuilder();
        original.toXContent(xContent, ToXContent.EMPTY_PARAMS);
        assertTrue(xContent.toString(), xContent.toString().contains("\"title_field\":\"name\",\"categories_field\":\"categories\""));
        assertTrue(xContent.toString(), xContent.toString().contains("\"retrieval_weight\":0.0,\"co_occurrence_weight\":3.0"));
    }

    public void testGenrecKnnRoundTripsAndRefusesBadVectors() throws IOException {
        KnnQueryBuilder original;
        try (XContentParser parser = createParser(JsonXContent.jsonXContent,
            "{\"field\": \"v\", \"vector\": [0.6, 0.8], \"k\": 7, \"filter\": {\"term\": {\"a\": \"b\"}}}")) {
            parser.nextToken();
            original = KnnQueryBuilder.fromXContent(parser);
        }
        NamedWriteableRegistry registry = new NamedWriteableRegistry(SEARCH.getNamedWriteables());
        assertEquals(original, copyWriteable(original, registry, KnnQueryBuilder::new));
        for (String bad : List.of("{\"field\": \"v\"}", "{\"field\": \"v\", \"vector\": [\"x\"]}", "{\"vector\": [1]}",
            "{\"field\": \"v\", \"vector\": [1], \"k\": -1}")) {
            try (XContentParser parser = createParser(JsonXContent.jsonXContent, bad)) {
                parser.nextToken();
                expectThrows(ParsingException.class, () -> KnnQueryBuilder.fromXContent(parser));
            }
        }
    }

    public void testBadInputIsAParsingErrorNamingTheProblem() {
        assertBad("{\"vector_field\": \"v\"}", "[model] is required");
        assertBad("{\"model\": \"m\"}", "requires [vector_field]");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"k\": 0}", "[k] must be between 1 and 10000");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"k\": 100000}", "[k] must be between 1 and 10000");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"colour\": \"red\"}", "unknown field [colour]");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"history\": {\"item\": \"i1\"}}", "[history] must be an array");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"history\": [\"i1\"]}", "entries must be objects");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"history\": [{\"item\": \"i1\", \"action\": \"click\"}]}",
            "history[0] needs [item], [action] and [time]");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"history\": [{\"item\": \"i1\", \"action\": \"click\", \"time\": \"soon\"}]}",
            "ISO-8601");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"history\": [{\"item\": \"i1\", \"action\": \"click\", \"time\": 1, \"x\": 1}]}",
            "unknown field [x]");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"history\": [{\"item\": \"i1\", \"action\": \"click\", \"time\": 1,"
            + " \"item_text\": {\"name\": \"x\"}}]}", "history[0].item_text has unknown field [name]");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"history\": [{\"item\": \"i1\", \"action\": \"click\", \"time\": 1,"
            + " \"item_text\": [\"x\"]}]}", "history[0].item_text must be an object");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"user\": {\"index\": \"events\"}}", "[user] needs [index] and [id]");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"user\": {\"index\": \"e\", \"id\": \"1\"},"
            + " \"history\": [{\"item\": \"i1\", \"action\": \"click\", \"time\": 1}]}", "either [history] or [user]");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"request_time\": \"never\"}", "ISO-8601");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"rank\": \"maybe\"}", "rank");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"k\": 10, \"num_candidates\": 5}", "[num_candidates] must be between k");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"k\": 10, \"rank\": {\"window\": 11}}", "[rank.window] must be between 1 and k");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"rank\": {\"size\": 1}}", "[rank] has unknown field [size]");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"rank\": {\"retrieval_weight\": -1}}",
            "[rank.retrieval_weight] must be between 0 and 1000.0, got -1.0");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"rank\": {\"retrieval_weight\": \"high\"}}",
            "invalid value for [rank.retrieval_weight]");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"rank\": {\"window\": \"wide\"}}", "invalid value for [rank.window]");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"rank\": {\"co_occurrence_weight\": 1001}}",
            "[rank.co_occurrence_weight] must be between 0 and 1000.0, got 1001.0");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"user\": {\"index\": \"e\", \"id\": \"1\", \"events\": 0}}",
            "[user.events] must be between 1 and 10000, got 0");
        assertBad("{\"model\": \"m\", \"vector_field\": \"v\", \"user\": {\"index\": \"e\", \"id\": \"1\", \"events\": \"all\"}}",
            "[user] has unknown field [events]");
    }

    public void testUserLookupOfMoreEventsThanTheModelReadsRoundTrips() throws IOException {
        GenrecServices services = services();
        GenrecQueryBuilder original = parse(services, """
            {"model": "recs", "vector_field": "v", "user": {"index": "events", "id": "6040", "events": 1000}}""");
        assertEquals(Integer.valueOf(1000), original.user().user().events());
        XContentBuilder xContent = JsonXContent.contentBuilder();
        original.toXContent(xContent, ToXContent.EMPTY_PARAMS);
        String json = xContent.toString();
        assertEquals(original, parse(services, json.substring(json.indexOf(':') + 1, json.length() - 1)));
        NamedWriteableRegistry registry = new NamedWriteableRegistry(SEARCH.getNamedWriteables());
        assertEquals(original, copyWriteable(original, registry, in -> new GenrecQueryBuilder(in, services)));
    }

    public void testBadRescorerInputIsAParsingErrorNamingTheProblem() {
        String history = "\"model\": \"m\", \"history\": [{\"item\": \"i1\", \"action\": \"click\", \"time\": 1}]";
        assertBadRescorer("{" + history + ", \"retrieval_weight\": -1}", "[genrec] rescorer [retrieval_weight] must be between 0 and 1000.0");
        assertBadRescorer("{" + history + ", \"co_occurrence_weight\": 1e6}", "[co_occurrence_weight] must be between 0 and 1000.0");
        assertBadRescorer("{" + history + ", \"retrieval_weight\": \"high\"}", "invalid value for [retrieval_weight]");
        assertBadRescorer("{" + history + ", \"query_weight\": -2}", "weights must be finite and non-negative");
        assertBadRescorer("{" + history + ", \"window\": 5}", "does not support [window]");
    }

    private void assertBadRescorer(String json, String reason) {
        ParsingException e = expectThrows(ParsingException.class, () -> {
            try (XContentParser parser = createParser(JsonXContent.jsonXContent, json)) {
                parser.nextToken();
                GenrecRescorerBuilder.fromXContent(parser, services());
            }
        });
        assertTrue("[" + e.getMessage() + "] should contain [" + reason + "]", e.getMessage().contains(reason));
    }

    private void assertBad(String json, String reason) {
        ParsingException e = expectThrows(ParsingException.class, () -> parse(services(), json));
        assertTrue("[" + e.getMessage() + "] should contain [" + reason + "]", e.getMessage().contains(reason));
    }
}
