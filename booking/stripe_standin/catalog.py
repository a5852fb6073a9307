"""Parameter names and enum values Stripe accepts (for the pinned API version)."""


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SESSION_CREATE_PARAMS = frozenset(
    _words(
        """
        adaptive_pricing after_expiration allow_promotion_codes allowed_payment_method_types
        automatic_tax billing_address_collection branding_settings cancel_url
        client_reference_id consent_collection currency custom_fields custom_text customer
        customer_account customer_creation customer_email customer_update discounts
        excluded_payment_method_types expand expires_at integration_identifier invoice_creation
        line_items locale managed_payments metadata mode name_collection optional_items
        origin_context payment_intent_data payment_method_collection
        payment_method_configuration payment_method_data payment_method_options permissions
        phone_number_collection redirect_on_completion return_url saved_payment_method_options
        setup_intent_data shipping_address_collection shipping_options submit_type
        subscription_data success_url tax_id_collection ui_mode wallet_options
        """
    )
)
LINE_ITEM_PARAMS = _words("adjustable_quantity metadata price price_data quantity tax_rates")
PRICE_DATA_PARAMS = _words(
    "currency product product_data recurring tax_behavior unit_amount unit_amount_decimal"
)
PRODUCT_DATA_PARAMS = _words("description images metadata name tax_code tax_details unit_label")
INTENT_DATA_PARAMS = _words(
    """
    application_fee_amount capture_method description metadata on_behalf_of receipt_email
    setup_future_usage shipping statement_descriptor statement_descriptor_suffix
    transfer_data transfer_group
    """
)
REFUND_CREATE_PARAMS = _words(
    """
    amount charge currency customer expand instructions_email metadata origin
    payment_intent reason refund_application_fee reverse_transfer
    """
)
LOCALES = _words(
    """
    auto bg cs da de el en en-GB es es-419 et fi fil fr fr-CA hi-IN hr hu id it ja ko lt lv
    ms mt nb nl pl pt pt-BR ro ru sk sl sv th tr vi zh zh-HK zh-TW
    """
)
SUBMIT_TYPES = ("auto", "book", "donate", "pay", "subscribe")
UI_MODES = ("elements", "embedded_page", "form", "hosted_page")
