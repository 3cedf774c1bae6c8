{#- The backend block `bootstrap init` suggests: the one the pipeline's backend.tf holds. #}
{% from "backend.tf" import terraform_block %}
{{ terraform_block() }}
