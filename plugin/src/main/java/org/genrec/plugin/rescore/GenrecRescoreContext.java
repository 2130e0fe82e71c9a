package org.genrec.plugin.rescore;

import org.genrec.plugin.query.ItemTextFields;
import org.genrec.plugin.query.ServedBlend;
import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.UserEncoding;
import org.opensearch.search.rescore.RescoreContext;

/** One shard's rescoring job: the model, the user's encoding, the served score's weights and how to combine scores. */
final class GenrecRescoreContext extends RescoreContext {

    final GenrecModel model;
    final UserEncoding user;
    final String itemIdField;
    final ItemTextFields textFields;
    final float queryWeight;
    final float rescoreQueryWeight;
    final ServedBlend blend;

    GenrecRescoreContext(int windowSize, GenrecModel model, UserEncoding user, String itemIdField, ItemTextFields textFields, float queryWeight,
        float rescoreQueryWeight, ServedBlend blend) {
        super(windowSize, GenrecRescorer.INSTANCE);
        this.model = model;
        this.user = user;
        this.itemIdField = itemIdField;
        this.textFields = textFields;
        this.queryWeight = queryWeight;
        this.rescoreQueryWeight = rescoreQueryWeight;
        this.blend = blend;
    }
}
