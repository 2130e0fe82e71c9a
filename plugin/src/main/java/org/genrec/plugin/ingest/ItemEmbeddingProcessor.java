package org.genrec.plugin.ingest;

import org.genrec.plugin.model.ModelRegistry;
import org.genrec.plugin.query.ItemTextFields;
import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.bundle.ItemCatalog;
import org.genrec.runtime.encoding.ItemText;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.ingest.AbstractProcessor;
import org.opensearch.ingest.ConfigurationUtils;
import org.opensearch.ingest.IngestDocument;
import org.opensearch.ingest.Processor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * {@code genrec_item_embedding}: fills an item document's vector field with the model's retrieval embedding of the item, so
 * that items written by an application (the catalogue grows after training) are retrievable by the {@code genrec} query. An
 * item the model was trained on gets its trained vector, the one {@code genrec-tools index-items} writes; any other item gets
 * the embedding of its text alone (categories, then title: the bundle's {@code item_encoder} graph). A document with neither
 * fails with a 400 that says why, as does a model without an item encoder or an index whose vectors are another model's
 * ({@link IndexVectorOwner}): nothing is indexed with a vector from the wrong space.
 *
 * <p>The ranking head ranks such an item by its text too, read from the document's {@code _source} ({@link
 * org.genrec.plugin.query.RankingScores}).
 */
public final class ItemEmbeddingProcessor extends AbstractProcessor {

    public static final String TYPE = "genrec_item_embedding";

    private final String model;
    private final String field;
    private final String itemIdField;
    private final ItemTextFields textFields;
    private final ModelRegistry models;
    private final IndexVectorOwner owner;

    ItemEmbeddingProcessor(String tag, String description, String model, String field, String itemIdField, ItemTextFields textFields,
        ModelRegistry models, IndexVectorOwner owner) {
        super(tag, description);
        this.model = model;
        this.field = field;
        this.itemIdField = itemIdField;
        this.textFields = textFields;
        this.models = models;
        this.owner = owner;
    }

    @Override
    public IngestDocument execute(IngestDocument document) {
        GenrecModel served = models.get(model);
        String index = document.getFieldValue(IngestDocument.Metadata.INDEX.getFieldName(), String.class, true);
        owner.requireVectorsOf(index, field, served.bundle(), "[" + TYPE + "] with model [" + model + "]");
        Object id = document.getFieldValue(itemIdField, Object.class, true);
        ItemCatalog items = served.bundle().items();
        int trained = id == null ? -1 : items.indexOf(id.toString());
        float[] vector = trained > 0 ? items.embedding(trained) : served.embedNewItems(List.of(itemText(document)))[0];
        List<Float> values = new ArrayList<>(vector.length);
        for (float v : vector) {
            values.add(v);
        }
        document.setFieldValue(field, values);
        return document;
    }

    private ItemText itemText(IngestDocument document) {
        return ItemText.fromFields(document.getFieldValue(textFields.title(), Object.class, true),
            document.getFieldValue(textFields.categories(), Object.class, true));
    }

    @Override
    public String getType() {
        return TYPE;
    }

    /**
     * {@code {"genrec_item_embedding": {"model": "NAME", "field": "item_vector", "item_id_field": "item_id",
     * "title_field": "title", "categories_field": "categories"}}}; only {@code model} is required (a name, NAME@VERSION or an
     * alias, resolved for each document so that a reload or an alias switch takes effect at once).
     */
    public static final class Factory implements Processor.Factory {

        private final ModelRegistry models;
        private final Supplier<ClusterService> clusterService;

        /** The cluster service is looked up when documents arrive: the ingest service hands it out only once it is built. */
        public Factory(ModelRegistry models, Supplier<ClusterService> clusterService) {
            this.models = models;
            this.clusterService = clusterService;
        }

        @Override
        public ItemEmbeddingProcessor create(Map<String, Processor.Factory> registry, String tag, String description,
            Map<String, Object> config) {
            String model = ConfigurationUtils.readStringProperty(TYPE, tag, config, "model");
            String field = ConfigurationUtils.readStringProperty(TYPE, tag, config, "field", "item_vector");
            String itemIdField = ConfigurationUtils.readStringProperty(TYPE, tag, config, "item_id_field", "item_id");
            ItemTextFields textFields = new ItemTextFields(
                ConfigurationUtils.readStringProperty(TYPE, tag, config, ItemTextFields.TITLE_FIELD.getPreferredName(),
                    ItemTextFields.DEFAULT.title()),
                ConfigurationUtils.readStringProperty(TYPE, tag, config, ItemTextFields.CATEGORIES_FIELD.getPreferredName(),
                    ItemTextFields.DEFAULT.categories()));
            return new ItemEmbeddingProcessor(tag, description, model, field, itemIdField, textFields, models,
                new IndexVectorOwner(clusterService));
        }
    }
}
