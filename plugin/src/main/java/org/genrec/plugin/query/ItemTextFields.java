package org.genrec.plugin.query;

import org.opensearch.core.ParseField;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.common.io.stream.Writeable;
import org.opensearch.core.xcontent.XContentBuilder;

import java.io.IOException;

/**
 * Where the items index keeps an item's text ({@code title_field}, {@code categories_field} of the {@code genrec} query and
 * rescorer, default {@code title} and {@code categories}, as index-items writes them): what the model ranks an item it was
 * not trained on by, read from {@code _source}. Set them as the {@code genrec_item_embedding} processor's when it was given
 * other names.
 */
public record ItemTextFields(String title, String categories) implements Writeable {

    public static final ItemTextFields DEFAULT = new ItemTextFields("title", "categories");
    public static final ParseField TITLE_FIELD = new ParseField("title_field");
    public static final ParseField CATEGORIES_FIELD = new ParseField("categories_field");

    public ItemTextFields {
        if (title == null || title.isEmpty() || categories == null || categories.isEmpty()) {
            throw new IllegalArgumentException("[" + TITLE_FIELD.getPreferredName() + "] and [" + CATEGORIES_FIELD.getPreferredName()
                + "] must name fields");
        }
    }

    public ItemTextFields(StreamInput in) throws IOException {
        this(in.readString(), in.readString());
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeString(title);
        out.writeString(categories);
    }

    public ItemTextFields withTitle(String field) {
        return new ItemTextFields(field, categories);
    }

    public ItemTextFields withCategories(String field) {
        return new ItemTextFields(title, field);
    }

    public void toXContentFields(XContentBuilder builder) throws IOException {
        builder.field(TITLE_FIELD.getPreferredName(), title).field(CATEGORIES_FIELD.getPreferredName(), categories);
    }
}
